// PIN handling end to end through the real transport and the virtual authenticator: the PIN is
// asked only when needed, asked once, never retried, and the key's lockouts surface as the
// right FidoError codes.

import { expect } from 'chai';
import { FLAG_UV } from '../../../app/fido/api';
import { type Ctap2SecurityKey } from '../../../app/fido';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../../app/fido/testing';
import { ctx, gaRequest, mcRequest, RecordingPrompter, rejection } from './helpers';

describe('fido: PIN through the virtual authenticator', function () {
  const opened: { va: VirtualAuthenticator; key: Ctap2SecurityKey }[] = [];

  async function open(va: VirtualAuthenticator, prompter: RecordingPrompter): Promise<Ctap2SecurityKey> {
    const key = await openVirtualSecurityKey(va, prompter);
    opened.push({ va, key });
    return key;
  }

  afterEach(async function () {
    for (const { va, key } of opened.splice(0)) {
      await key.close();
      va.unplug();
    }
  });

  for (const protocol of [2, 1] as const) {
    describe(`PIN/UV auth protocol ${protocol}`, function () {
      it('sets a PIN with setPIN, then a uv operation asks it once and sets the UV flag', async function () {
        const va = new VirtualAuthenticator({ pinProtocols: [protocol] });
        const prompter = new RecordingPrompter('4321');
        const key = await open(va, prompter);
        expect(key.pinSet).to.equal(false);
        await key.setPin('4321');
        expect(key.pinSet).to.equal(true);
        expect(key.pinProtocol.version).to.equal(protocol);

        const cred = await key.makeCredential(mcRequest({ userVerification: true }), ctx);
        expect(cred.flags & FLAG_UV).to.equal(FLAG_UV);
        expect(prompter.pinAsks).to.deep.equal([{ retriesLeft: 8, purpose: ctx.purpose }]);

        const a = await key.getAssertion(gaRequest([cred.credentialId], { userVerification: true }), ctx);
        expect(a.flags & FLAG_UV).to.equal(FLAG_UV);
        expect(prompter.pinAsks).to.have.length(2);
      });

      it('wrong PIN → pin-invalid with 7 retries left, prompter asked once, no retry', async function () {
        const va = new VirtualAuthenticator({ pin: '1234', pinProtocols: [protocol] });
        const prompter = new RecordingPrompter('9999');
        const key = await open(va, prompter);
        const err = await rejection(key.makeCredential(mcRequest({ userVerification: true }), ctx));
        expect(err.code).to.equal('pin-invalid');
        expect(err.retriesLeft).to.equal(7);
        expect(err.message).to.match(/Wrong PIN.*7 attempts left/);
        expect(prompter.pinAsks).to.have.length(1);
        expect(prompter.touchNeededCount).to.equal(0);
        expect(va.pinRetries).to.equal(7);
        // The right PIN afterwards resets the counter; its dialog said the last one was wrong.
        prompter.pin = '1234';
        await key.makeCredential(mcRequest({ userVerification: true }), ctx);
        expect(va.pinRetries).to.equal(8);
        expect(prompter.pinRequests.map((r) => [r.retriesLeft, r.afterWrongPin])).to.deep.equal([
          [8, undefined],
          [7, true],
        ]);
        // ... and once a PIN was right, the next dialog says nothing of it.
        await key.makeCredential(mcRequest({ userVerification: true }), ctx);
        expect(prompter.pinRequests[2].afterWrongPin).to.equal(undefined);
      });
    });
  }

  it('runs concurrent PIN operations one after the other (no PIN exchange interleaving)', async function () {
    const va = new VirtualAuthenticator({ pin: '1234' });
    const prompter = new RecordingPrompter('1234');
    const key = await open(va, prompter);
    const cred = await key.makeCredential(mcRequest(), ctx);
    const results = await Promise.all(
      [1, 2, 3].map(() => key.getAssertion(gaRequest([cred.credentialId], { userVerification: true }), ctx)),
    );
    expect(results.every((r) => (r.flags & FLAG_UV) === FLAG_UV)).to.equal(true);
    expect(prompter.pinAsks).to.have.length(3);
    expect(va.pinRetries).to.equal(8);
  });

  it('does not ask for the PIN when no verification is needed, even with a PIN set', async function () {
    const va = new VirtualAuthenticator({ pin: '1234' });
    const prompter = new RecordingPrompter('1234');
    const key = await open(va, prompter);
    const cred = await key.makeCredential(mcRequest(), ctx);
    await key.getAssertion(gaRequest([cred.credentialId]), ctx);
    expect(prompter.pinAsks).to.have.length(0);
    expect(cred.flags & FLAG_UV).to.equal(0);
  });

  it('asks for the PIN when the key answers PIN_REQUIRED (resident credential)', async function () {
    const va = new VirtualAuthenticator({ pin: '1234' });
    const prompter = new RecordingPrompter('1234');
    const key = await open(va, prompter);
    const cred = await key.makeCredential(mcRequest({ residentKey: true }), ctx);
    expect(prompter.pinAsks).to.have.length(1);
    expect(cred.flags & FLAG_UV).to.equal(FLAG_UV);
  });

  it('pin-required when the user cancels the PIN prompt', async function () {
    const va = new VirtualAuthenticator({ pin: '1234' });
    const key = await open(va, new RecordingPrompter(null));
    const err = await rejection(key.makeCredential(mcRequest({ userVerification: true }), ctx));
    expect(err.code).to.equal('pin-required');
    expect(va.pinRetries).to.equal(8);
  });

  it('cancels while the PIN prompt is open, without touching the key', async function () {
    const va = new VirtualAuthenticator({ pin: '1234' });
    const ac = new AbortController();
    const prompter = new RecordingPrompter('1234');
    prompter.askPin = async () => {
      ac.abort();
      return new Promise<string | null>(() => {}); // the user never answers
    };
    const key = await open(va, prompter);
    const err = await rejection(
      key.makeCredential(mcRequest({ userVerification: true }), { ...ctx, signal: ac.signal }),
    );
    expect(err.code).to.equal('cancelled');
    expect(va.pinRetries).to.equal(8);
  });

  it('pin-not-set when verification is requested but the key has no PIN', async function () {
    const va = new VirtualAuthenticator();
    const prompter = new RecordingPrompter('1234');
    const key = await open(va, prompter);
    const err = await rejection(key.makeCredential(mcRequest({ userVerification: true }), ctx));
    expect(err.code).to.equal('pin-not-set');
    expect(prompter.pinAsks).to.have.length(0);
  });

  it('rejects a too-short PIN without spending a retry', async function () {
    const va = new VirtualAuthenticator({ pin: '1234' });
    const key = await open(va, new RecordingPrompter('12'));
    const err = await rejection(key.makeCredential(mcRequest({ userVerification: true }), ctx));
    expect(err.code).to.equal('pin-invalid');
    expect(va.pinRetries).to.equal(8);
  });

  it('3 wrong PINs in a row → pin-auth-blocked until re-plugged; 8 wrong → pin-blocked', async function () {
    const va = new VirtualAuthenticator({ pin: '1234' });
    const prompter = new RecordingPrompter('0000');
    let key = await open(va, prompter);
    const codes: string[] = [];
    const attempt = async () => {
      const err = await rejection(
        key.getAssertion(gaRequest([Buffer.alloc(40)], { userVerification: true }), ctx),
      );
      codes.push(`${err.code}:${err.retriesLeft ?? ''}`);
      return err;
    };
    for (let i = 0; i < 3; i++) await attempt();
    expect(codes).to.deep.equal(['pin-invalid:7', 'pin-invalid:6', 'pin-auth-blocked:']);
    const blocked = await attempt(); // still blocked: no retry spent
    expect(blocked.code).to.equal('pin-auth-blocked');
    expect(blocked.message).to.match(/remove and re-insert/);
    expect(va.pinRetries).to.equal(5);

    // Re-insert (power cycle) and keep failing: 5 → 2, then 2 → 0.
    const replug = async () => {
      await key.close();
      key = await open(va, prompter);
    };
    await replug();
    codes.length = 0;
    for (let i = 0; i < 3; i++) await attempt();
    expect(codes).to.deep.equal(['pin-invalid:4', 'pin-invalid:3', 'pin-auth-blocked:']);
    await replug();
    codes.length = 0;
    await attempt();
    const last = await attempt();
    expect(codes).to.deep.equal(['pin-invalid:1', 'pin-blocked:']);
    expect(last.message).to.match(/reset the key/);
    expect(va.pinRetries).to.equal(0);

    // Blocked for good: even the right PIN is refused, and the prompter is not even asked.
    prompter.pin = '1234';
    const asked = prompter.pinAsks.length;
    await replug();
    const after = await attempt();
    expect(after.code).to.equal('pin-blocked');
    expect(prompter.pinAsks).to.have.length(asked);
  });

  it('keeps PIN, counter and credentials in a state file across runs', async function () {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'kvn-fido-'));
    try {
      const statePath = join(dir, 'key.json');
      const va1 = new VirtualAuthenticator({ statePath, pin: '1234' });
      const key1 = await open(va1, new RecordingPrompter('1234'));
      const cred = await key1.makeCredential(mcRequest({ userVerification: true }), ctx);
      await key1.close();
      va1.unplug();

      const va2 = new VirtualAuthenticator({ statePath, pin: 'ignored' });
      const prompter = new RecordingPrompter('1234');
      const key2 = await open(va2, prompter);
      const a = await key2.getAssertion(gaRequest([cred.credentialId], { userVerification: true }), ctx);
      expect(a.signCount).to.be.greaterThan(cred.signCount);
      expect(prompter.pinAsks).to.have.length(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates its state directory 0700 and its state file 0600', async function () {
    const { mkdtempSync, rmSync, statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'kvn-fido-'));
    const old = process.umask(0o022);
    try {
      const statePath = join(dir, 'state', 'key.json');
      new VirtualAuthenticator({ statePath });
      expect(statSync(join(dir, 'state')).mode & 0o777).to.equal(0o700);
      expect(statSync(statePath).mode & 0o777).to.equal(0o600);
    } finally {
      process.umask(old);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('explains a corrupt state file', async function () {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'kvn-fido-'));
    try {
      const statePath = join(dir, 'key.json');
      writeFileSync(statePath, '{"version": 1, "masterSecret": "zz"');
      expect(() => new VirtualAuthenticator({ statePath })).to.throw(/not valid JSON/);
      writeFileSync(statePath, '{"version": 1, "masterSecret": "zz"}');
      expect(() => new VirtualAuthenticator({ statePath })).to.throw(/masterSecret must be 32 bytes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
