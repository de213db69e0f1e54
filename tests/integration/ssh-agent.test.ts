// The KeyVNet ssh-agent against real OpenSSH: a real sshd in a network namespace made by the test,
// the real ssh client run inside it, our agent serving sk keys enrolled on the virtual security key
// (through the same CTAPHID/CTAP2 code as a USB key). Root + netns; must run under CI=true.
import type { ConfirmPrompt, PinPrompt, Purpose, TouchPrompt } from '../../app/fido/api';
import { touchPromptText } from '../../app/ui/prompt-text';
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Ctap2SecurityKey, type UserPrompter } from '../../app/fido';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../app/fido/testing';
import { SshAgent, type SignEvent } from '../../app/ssh/agent';
import { enrollSkKey, type EnrollOptions } from '../../app/ssh/enroll';
import { writePrivateKeyFile } from '../../app/ssh/keyfile';
import { authorizedKeysLine, fingerprint, publicKeyLine, type SkKey } from '../../app/ssh/keys';
import { NetNs } from '../helpers/netns';
import { requireNetns } from '../helpers/privileges';
import { TestSshd } from './fixtures/ssh/sshd';

const PIN = '4711';

/** Answers PIN prompts from a script and records what it was asked. */
class ScriptedPrompter implements UserPrompter {
  pins: (string | null)[] = [];
  asks: { retriesLeft: number | null; purpose: Purpose }[] = [];
  touches: string[] = [];

  async askPin(req: PinPrompt) {
    this.asks.push({ retriesLeft: req.retriesLeft, purpose: req.purpose });
    return this.pins.length ? this.pins.shift()! : null;
  }

  confirms: boolean[] = [];
  confirmAsks: ConfirmPrompt[] = [];
  async confirm(req: ConfirmPrompt): Promise<boolean> {
    this.confirmAsks.push(req);
    return this.confirms.shift() ?? false;
  }

  touchNeeded(req: TouchPrompt): void {
    this.touches.push(touchPromptText(req).title);
  }

  touchDone(): void {}
}

describe('ssh-agent with real OpenSSH sshd/ssh (root, netns)', function () {
  let dir: string;
  let ns: NetNs | undefined;
  let sshd: TestSshd | undefined;
  let va: VirtualAuthenticator | undefined;
  let sk: Ctap2SecurityKey | undefined;
  let agent: SshAgent | undefined;
  const prompter = new ScriptedPrompter();
  let offered: SkKey[] = [];
  const events: SignEvent[] = [];
  const logs: string[] = [];

  before(async function () {
    requireNetns(this, 'ssh-agent integration test');
    dir = mkdtempSync(join(tmpdir(), 'kvn-sshagent-'));
    ns = await NetNs.create('sshagent');
    sshd = await TestSshd.start(ns);
    // A short touch timeout so the "nobody touches" case ends quickly; it is the key's own
    // USER_ACTION_TIMEOUT, not a timing assertion.
    va = new VirtualAuthenticator({ pin: PIN, touchTimeoutMs: 2000 });
    sk = await openVirtualSecurityKey(va, prompter);
    agent = new SshAgent({
      keys: () => offered,
      securityKey: async () => sk!,
      log: (level, m) => logs.push(`${level}: ${m}`),
      prompter,
      // ssh records the server's key here (accept-new) before authenticating: prompts name the host.
      knownHostsFiles: [join(sshd.dir, 'known_hosts')],
    });
    agent.on('sign', (e: SignEvent) => events.push(e));
    await agent.listen(join(dir, 'agent.sock'));
  });

  after(async () => {
    await agent?.close();
    await sk?.close().catch(() => undefined);
    va?.unplug();
    sshd?.cleanup();
    await ns?.delete();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    va?.setTouchPolicy({ mode: 'auto' });
    prompter.pins = [];
    prompter.asks = [];
    prompter.touches = [];
    events.length = 0;
    logs.length = 0;
  });

  async function enroll(opts: EnrollOptions): Promise<SkKey> {
    va!.setTouchPolicy({ mode: 'auto' }); // a suite's before() runs ahead of the beforeEach reset
    prompter.pins = opts.verifyRequired ? [PIN] : [];
    const { key } = await enrollSkKey(sk!, opts, { purpose: { what: 'enroll', requester: 'app' } });
    prompter.pins = [];
    return key;
  }

  /** Offers `key` from the agent, authorizes `authLine` in sshd, logs in with the real ssh client. */
  async function login(key: SkKey, authLine: string) {
    offered = [key];
    sshd!.setAuthorizedKeys([authLine]);
    const mark = sshd!.logMark();
    const r = await sshd!.login(agent!.path);
    return { ...r, mark };
  }

  describe('a touch-required key (sk-ecdsa)', () => {
    let key: SkKey;
    before(async () => {
      key = await enroll({ comment: 'touch-key' });
    });

    it('logs in when the key is touched', async () => {
      const r = await login(key, authorizedKeysLine(key));
      expect(r.ok, r.stderr).to.equal(true);
      // The host comes from session-bind (its signature verified) and the known_hosts entry.
      expect(prompter.touches).to.deep.equal(['Touch your security key to connect to 127.0.0.1']);
      expect(logs.join('\n')).to.match(/debug: session-bind to SHA256:\S+ \(direct\)/);
      expect(logs.join('\n')).not.to.match(/did not sign the session id/);
      expect(events).to.deep.equal([{ fingerprint: fingerprint(key), ok: true }]);
      await sshd!.waitForLog(
        new RegExp(`Accepted publickey for root .* ECDSA-SK ${escape(fingerprint(key))}`),
        r.mark,
      );
    });

    it('fails with a clear reason when the touch is denied', async () => {
      va!.setTouchPolicy({ mode: 'deny' });
      const r = await login(key, authorizedKeysLine(key));
      expect(r.ok).to.equal(false);
      expect(r.stderr).to.match(/Permission denied \(publickey\)/);
      expect(events).to.deep.equal([
        { fingerprint: fingerprint(key), ok: false, reason: 'touch was denied on the security key' },
      ]);
      expect(logs).to.include(
        `warn: signing with ${fingerprint(key)} failed: touch was denied on the security key`,
      );
    });

    it('fails with a clear reason when nobody touches the key in time', async () => {
      va!.setTouchPolicy({ mode: 'never' });
      const r = await login(key, authorizedKeysLine(key));
      expect(r.ok).to.equal(false);
      expect(events.map((e) => e.reason)).to.deep.equal(['the security key was not touched in time']);
    });
  });

  it('logs in with an sk-ed25519 key', async () => {
    const key = await enroll({ algorithm: 'ed25519', comment: 'ed-key' });
    const r = await login(key, authorizedKeysLine(key));
    expect(r.ok, r.stderr).to.equal(true);
    await sshd!.waitForLog(/Accepted publickey for root .* ED25519-SK /, r.mark);
  });

  describe('a verify-required key (PIN)', () => {
    let key: SkKey;
    before(async () => {
      key = await enroll({ verifyRequired: true, comment: 'pin-key' });
    });

    it('puts verify-required in the authorized_keys line', () => {
      expect(authorizedKeysLine(key)).to.match(/^verify-required sk-ecdsa-sha2-nistp256@openssh\.com /);
    });

    it('logs in with the right PIN', async () => {
      prompter.pins = [PIN];
      const r = await login(key, authorizedKeysLine(key));
      expect(r.ok, r.stderr).to.equal(true);
      expect(prompter.asks).to.have.length(1);
      expect(prompter.asks[0].retriesLeft).to.equal(VirtualAuthenticator.maxPinRetries);
    });

    it('fails with a wrong PIN, reports the retries left, and does not retry by itself', async () => {
      prompter.pins = ['0000', PIN];
      const r = await login(key, authorizedKeysLine(key));
      expect(r.ok).to.equal(false);
      const left = VirtualAuthenticator.maxPinRetries - 1;
      expect(va!.pinRetries).to.equal(left);
      expect(prompter.asks).to.have.length(1); // the second scripted PIN was never asked for
      expect(events.map((e) => e.reason)).to.deep.equal([`wrong PIN (${left} retries left)`]);
      expect(logs).to.include(
        `warn: signing with ${fingerprint(key)} failed: wrong PIN (${left} retries left)`,
      );
      // The user tries again (a new login): the right PIN works and the counter is reset.
      prompter.pins = [PIN];
      const again = await login(key, authorizedKeysLine(key));
      expect(again.ok, again.stderr).to.equal(true);
      expect(va!.pinRetries).to.equal(VirtualAuthenticator.maxPinRetries);
    });

    it('sshd refuses a key used without PIN where authorized_keys says verify-required', async () => {
      const plain = await enroll({ comment: 'no-pin-key' });
      const r = await login(plain, `verify-required ${publicKeyLine(plain)}`);
      expect(r.ok).to.equal(false);
      await sshd!.waitForLog(/rejected: user verification requirement not met/, r.mark);
    });
  });

  describe('a no-touch-required key: sshd enforces user presence', () => {
    let key: SkKey;
    before(async () => {
      key = await enroll({ noTouchRequired: true, comment: 'no-touch-key' });
      expect(authorizedKeysLine(key)).to.match(/^no-touch-required /);
    });

    it('is refused without no-touch-required in authorized_keys', async () => {
      va!.setTouchPolicy({ mode: 'never' }); // proves no touch is asked for
      const r = await login(key, publicKeyLine(key));
      expect(r.ok).to.equal(false);
      expect(events).to.deep.equal([{ fingerprint: fingerprint(key), ok: true }]); // we signed…
      await sshd!.waitForLog(/rejected: user presence \(authenticator touch\) requirement not met/, r.mark); // …sshd said no
    });

    it('logs in, without any touch, with no-touch-required in authorized_keys', async () => {
      va!.setTouchPolicy({ mode: 'never' });
      const r = await login(key, authorizedKeysLine(key));
      expect(r.ok, r.stderr).to.equal(true);
      expect(prompter.touches).to.deep.equal([]);
    });
  });
});

describe('ssh-agent: a real ssh login with a key added by `ssh-add -c` (root, netns)', function () {
  let dir: string;
  let ns: NetNs | undefined;
  let sshd: TestSshd | undefined;
  let va: VirtualAuthenticator | undefined;
  let sk: Ctap2SecurityKey | undefined;
  let agent: SshAgent | undefined;
  const prompter = new ScriptedPrompter();
  const execFileP = promisify(execFile);

  before(async function () {
    requireNetns(this, 'ssh-add -c login test');
    dir = mkdtempSync(join(tmpdir(), 'kvn-sshaddc-'));
    ns = await NetNs.create('sshaddc');
    sshd = await TestSshd.start(ns);
    va = new VirtualAuthenticator();
    sk = await openVirtualSecurityKey(va, prompter);
    agent = new SshAgent({ keys: () => [], securityKey: async () => sk!, log: () => undefined, prompter });
    await agent.listen(join(dir, 'agent.sock'));
  });

  after(async () => {
    await agent?.close();
    await sk?.close().catch(() => undefined);
    va?.unplug();
    sshd?.cleanup();
    await ns?.delete();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('asks before each use: yes logs in, no is refused without touching the key', async () => {
    const { key } = await enrollSkKey(
      sk!,
      { comment: 'confirm-key' },
      { purpose: { what: 'enroll', requester: 'app' } },
    );
    const file = join(dir, 'id_ecdsa_sk');
    writeFileSync(file, writePrivateKeyFile(key), { mode: 0o600 });
    await execFileP('ssh-add', ['-c', file], { env: { ...process.env, SSH_AUTH_SOCK: agent!.path } });
    sshd!.setAuthorizedKeys([authorizedKeysLine(key)]);

    prompter.confirms = [true];
    const yes = await sshd!.login(agent!.path);
    expect(yes.ok, yes.stderr).to.equal(true);
    expect(prompter.confirmAsks.map((a) => [a.keyComment, a.purpose.what, a.purpose.user])).to.deep.equal([
      ['confirm-key', 'ssh-login', 'root'],
    ]);

    prompter.confirms = [false];
    const before = va!.signCount;
    const no = await sshd!.login(agent!.path);
    expect(no.ok).to.equal(false);
    expect(no.stderr).to.match(/Permission denied \(publickey\)/);
    expect(va!.signCount).to.equal(before);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
