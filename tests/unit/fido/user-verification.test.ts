// User verification the way keys have it (issue 10 §1, §2): a fingerprint key verifies the user
// itself before any PIN is asked, the key's PIN rules (minPINLength, forcePINChange,
// noMcGaPermissionsWithClientPin) are honoured, a refused PIN gets a sentence the user can act
// on, and the PIN can be changed.
import { expect } from 'chai';
import { FLAG_UP, FLAG_UV } from '../../../app/fido/api';
import type { Ctap2SecurityKey } from '../../../app/fido/security-key';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../../app/fido/testing';
import { ctx, gaRequest, mcRequest, RecordingPrompter, rejection } from './helpers';

describe('fido: built-in UV and PIN rules', function () {
  const opened: { va: VirtualAuthenticator; key: Ctap2SecurityKey }[] = [];
  async function open(
    opts: ConstructorParameters<typeof VirtualAuthenticator>[0],
    prompter: RecordingPrompter,
  ): Promise<{ va: VirtualAuthenticator; key: Ctap2SecurityKey }> {
    const va = new VirtualAuthenticator(opts);
    const key = await openVirtualSecurityKey(va, prompter);
    opened.push({ va, key });
    return { va, key };
  }
  afterEach(async function () {
    for (const { va, key } of opened.splice(0)) {
      await key.close();
      va.unplug();
    }
  });

  it('a fingerprint key verifies the user itself: no PIN is asked', async function () {
    const prompter = new RecordingPrompter('1234');
    const { key } = await open({ pin: '1234', builtInUv: true }, prompter);
    const cred = await key.makeCredential(mcRequest({ userVerification: true }), ctx);
    expect(cred.flags & FLAG_UV).to.equal(FLAG_UV);
    const a = await key.getAssertion(gaRequest([cred.credentialId], { userVerification: true }), ctx);
    expect(a.flags & (FLAG_UP | FLAG_UV)).to.equal(FLAG_UP | FLAG_UV);
    expect(prompter.pinAsks).to.have.length(0);
    expect(prompter.touchNeededCount).to.be.greaterThan(0);
  });

  it('falls back to the PIN when the finger is not recognised', async function () {
    const prompter = new RecordingPrompter('1234');
    const { va, key } = await open({ pin: '1234', builtInUv: true }, prompter);
    const cred = await key.makeCredential(mcRequest(), ctx);
    va.setTouchPolicy({ mode: 'manual' });
    let first = true;
    prompter.onTouchNeeded = () =>
      setImmediate(() => {
        if (first) va.deny();
        else va.touch();
        first = false;
      });
    const a = await key.getAssertion(gaRequest([cred.credentialId], { userVerification: true }), ctx);
    expect(a.flags & FLAG_UV).to.equal(FLAG_UV);
    expect(prompter.pinAsks).to.have.length(1);
  });

  it('without a PIN to fall back on, a finger not recognised is a clear failure', async function () {
    const prompter = new RecordingPrompter(null);
    const { va, key } = await open({ builtInUv: true, touch: { mode: 'auto' } }, prompter);
    const cred = await key.makeCredential(mcRequest(), ctx);
    va.setTouchPolicy({ mode: 'deny' });
    const err = await rejection(
      key.getAssertion(gaRequest([cred.credentialId], { userVerification: true }), ctx),
    );
    expect(err.code).to.equal('uv-failed');
    expect(err.message).to.match(/did not recognise your fingerprint/);
  });

  it('forcePINChange: says the PIN must be changed, asks no PIN, and works after changePin', async function () {
    const prompter = new RecordingPrompter('1234');
    const { va, key } = await open({ pin: '1234' }, prompter);
    const cred = await key.makeCredential(mcRequest(), ctx);
    va.store.state.forcePinChange = true; // e.g. the admin raised minPINLength
    const err = await rejection(
      key.getAssertion(gaRequest([cred.credentialId], { userVerification: true }), ctx),
    );
    expect(err.code).to.equal('pin-change-required');
    expect(err.message).to.match(/requires a new PIN before it can be used/);
    // The same PIN again is refused while a change is forced.
    expect((await rejection(key.changePin('1234', '1234'))).code).to.equal('pin-policy');
    await key.changePin('1234', '98765');
    expect(key.authenticatorInfo.forcePinChange).to.equal(false);
    prompter.pin = '98765';
    const a = await key.getAssertion(gaRequest([cred.credentialId], { userVerification: true }), ctx);
    expect(a.flags & FLAG_UV).to.equal(FLAG_UV);
  });

  it('a key that opened with forcePINChange is refused before any PIN is asked', async function () {
    const prompter = new RecordingPrompter('1234');
    const va = new VirtualAuthenticator({ pin: '1234' });
    va.store.state.forcePinChange = true;
    const key = await openVirtualSecurityKey(va, prompter);
    opened.push({ va, key });
    expect(key.authenticatorInfo.forcePinChange).to.equal(true);
    const err = await rejection(
      key.getAssertion(gaRequest([Buffer.alloc(40)], { userVerification: true }), ctx),
    );
    expect(err.code).to.equal('pin-change-required');
    expect(prompter.pinAsks).to.have.length(0);
  });

  it('noMcGaPermissionsWithClientPin without a fingerprint: explains that the PIN cannot sign', async function () {
    const prompter = new RecordingPrompter('1234');
    const { key } = await open({ pin: '1234', noMcGaPermissionsWithClientPin: true }, prompter);
    const err = await rejection(key.makeCredential(mcRequest({ userVerification: true }), ctx));
    expect(err.code).to.equal('unsupported');
    expect(err.message).to.match(/accepts only its fingerprint, not its PIN/);
    expect(prompter.pinAsks).to.have.length(0);
  });

  it('minPINLength: a short new PIN is refused with the key’s own minimum, before the key sees it', async function () {
    const prompter = new RecordingPrompter(null);
    const { key } = await open({ minPinLength: 6 }, prompter);
    expect(key.authenticatorInfo.minPinLength).to.equal(6);
    const err = await rejection(key.setPin('12345'));
    expect(err.code).to.equal('pin-policy');
    expect(err.message).to.match(/at least 6 characters/);
    // What the key itself says when it refuses a PIN: a sentence the user can act on.
    const raw = await rejection(key.client.setPin(key.pinProtocol, '12345'));
    expect(raw.code).to.equal('pin-policy');
    expect(raw.message).to.match(/too short or too simple .* Choose another PIN/);
    await key.setPin('123456');
    expect(key.pinSet).to.equal(true);
  });

  it('changePin: a wrong current PIN says how many attempts are left and changes nothing', async function () {
    const prompter = new RecordingPrompter('1234');
    const { va, key } = await open({ pin: '1234' }, prompter);
    const err = await rejection(key.changePin('0000', '5678'));
    expect(err.code).to.equal('pin-invalid');
    expect(err.retriesLeft).to.equal(7);
    expect(err.message).to.match(/7 attempts left/);
    await key.changePin('1234', '5678');
    expect(va.pinRetries).to.equal(8);
    prompter.pin = '5678';
    await key.makeCredential(mcRequest({ userVerification: true }), ctx);
  });
});
