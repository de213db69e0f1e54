// Tests that distrust the key (issue 10 §5): a virtual key that misbehaves on command, one check
// of the client at a time. Each case would pass silently if that check were removed.
import { expect } from 'chai';
import { FidoError, type OperationContext } from '../../../app/fido/api';
import { cborDecode, cborEncode, type CborMap } from '../../../app/fido/ctap2/cbor';
import * as C from '../../../app/fido/ctap2/constants';
import type { Ctap2SecurityKey } from '../../../app/fido/security-key';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../../app/fido/testing';
import { enrollSkKey } from '../../../app/ssh/enroll';
import type { SkKey } from '../../../app/ssh/keys';
import { signWithSkKey } from '../../../app/ssh/signer';
import { gaRequest, mcRequest, RecordingPrompter, rejection } from './helpers';

const ctx: OperationContext = { purpose: { what: 'ssh-sign', requester: 'app' } };

/** From now on, the key's successful answers to `cmd` go through `mutate` (once, or always). */
function tamper(va: VirtualAuthenticator, cmd: number, mutate: (resp: CborMap) => void): void {
  const engine = va.currentEngine!;
  const handle = engine.handle.bind(engine);
  engine.handle = async (req, io) => {
    const resp = await handle(req, io);
    if (req[0] !== cmd || resp[0] !== C.CTAP2_OK) return resp;
    const m = (await cborDecode(resp.subarray(1))) as CborMap;
    mutate(m);
    return Buffer.concat([Buffer.from([C.CTAP2_OK]), await cborEncode(m)]);
  };
}

function authData(m: CborMap): Buffer {
  return m.get(2) as Buffer;
}

describe('fido: the client distrusts what the key returns', function () {
  let va: VirtualAuthenticator;
  let key: Ctap2SecurityKey;
  let sshKey: SkKey;
  let cred: Buffer;

  beforeEach(async function () {
    va = new VirtualAuthenticator({ pin: '1234' });
    key = await openVirtualSecurityKey(va, new RecordingPrompter('1234'));
    cred = (await key.makeCredential(mcRequest(), ctx)).credentialId;
    sshKey = (await enrollSkKey(key, {}, ctx)).key;
  });
  afterEach(async function () {
    await key.close();
    va.unplug();
  });

  const expectProtocol = async (p: Promise<unknown>, why: RegExp): Promise<void> => {
    const err = await rejection(p);
    expect(err, err.message).to.be.instanceOf(FidoError);
    expect(err.code).to.equal('protocol');
    expect(err.message).to.match(why);
  };

  describe('getAssertion', function () {
    it('refuses authenticatorData for another relying party (rpIdHash)', async function () {
      tamper(va, C.CTAP2_GET_ASSERTION, (m) => authData(m).fill(0, 0, 32));
      await expectProtocol(key.getAssertion(gaRequest([cred]), ctx), /another relying party/);
    });

    it('refuses an assertion without the user-present flag when a touch was asked', async function () {
      tamper(va, C.CTAP2_GET_ASSERTION, (m) => (authData(m)[32] &= ~0x01));
      await expectProtocol(key.getAssertion(gaRequest([cred]), ctx), /user presence flag missing/);
    });

    it('refuses an assertion without the user-verified flag when the PIN was asked', async function () {
      tamper(va, C.CTAP2_GET_ASSERTION, (m) => (authData(m)[32] &= ~0x04));
      await expectProtocol(
        key.getAssertion(gaRequest([cred], { userVerification: true }), ctx),
        /user verification flag missing/,
      );
    });

    it('refuses a credential id that was not asked for', async function () {
      tamper(va, C.CTAP2_GET_ASSERTION, (m) =>
        m.set(
          1,
          new Map<string, unknown>([
            ['id', Buffer.alloc(48, 9)],
            ['type', 'public-key'],
          ]),
        ),
      );
      await expectProtocol(key.getAssertion(gaRequest([cred]), ctx), /not asked for/);
    });

    it('refuses a malformed answer (CBOR shape, trailing authenticatorData bytes)', async function () {
      tamper(va, C.CTAP2_GET_ASSERTION, (m) => m.set(2, 'not bytes'));
      await expectProtocol(key.getAssertion(gaRequest([cred]), ctx), /invalid response|authData/);
      va.unplug();
      key = await openVirtualSecurityKey(va, new RecordingPrompter('1234'));
      tamper(va, C.CTAP2_GET_ASSERTION, (m) => m.set(2, Buffer.concat([authData(m), Buffer.from([0])])));
      await expectProtocol(key.getAssertion(gaRequest([cred]), ctx), /unexpected bytes/);
      va.unplug();
      key = await openVirtualSecurityKey(va, new RecordingPrompter('1234'));
      tamper(va, C.CTAP2_GET_ASSERTION, (m) => m.delete(3));
      await expectProtocol(key.getAssertion(gaRequest([cred]), ctx), /signature/);
    });

    it('the ssh signer refuses a signature that does not verify (bad signature, edited counter)', async function () {
      tamper(va, C.CTAP2_GET_ASSERTION, (m) => {
        const sig = m.get(3) as Buffer;
        sig[sig.length - 1] ^= 1;
      });
      let err = await rejection(signWithSkKey(key, sshKey, Buffer.from('data'), ctx));
      expect(err.message).to.match(/does not verify|not valid DER/);
      va.unplug();
      key = await openVirtualSecurityKey(va, new RecordingPrompter('1234'));
      tamper(va, C.CTAP2_GET_ASSERTION, (m) => authData(m).writeUInt32BE(999_999, 33));
      err = await rejection(signWithSkKey(key, sshKey, Buffer.from('data'), ctx));
      expect(err.message).to.match(/does not verify/);
    });
  });

  describe('makeCredential', function () {
    it('refuses an answer without attested credential data', async function () {
      tamper(va, C.CTAP2_MAKE_CREDENTIAL, (m) => {
        const ad = authData(m);
        m.set(2, Buffer.concat([ad.subarray(0, 32), Buffer.from([ad[32] & ~0x40]), ad.subarray(33, 37)]));
      });
      await expectProtocol(key.makeCredential(mcRequest(), ctx), /no attested credential data/);
    });

    it('refuses another relying party, a missing UP flag, and another algorithm', async function () {
      tamper(va, C.CTAP2_MAKE_CREDENTIAL, (m) => authData(m).fill(0, 0, 32));
      await expectProtocol(key.makeCredential(mcRequest(), ctx), /another relying party/);
      va.unplug();
      key = await openVirtualSecurityKey(va, new RecordingPrompter('1234'));
      tamper(va, C.CTAP2_MAKE_CREDENTIAL, (m) => (authData(m)[32] &= ~0x01));
      await expectProtocol(key.makeCredential(mcRequest(), ctx), /user presence flag missing/);
      va.unplug();
      key = await openVirtualSecurityKey(va, new RecordingPrompter('1234'));
      // The key makes an Ed25519 credential when P-256 was asked for.
      const engine = va.currentEngine!;
      const handle = engine.handle.bind(engine);
      engine.handle = async (req, io) => {
        if (req[0] !== C.CTAP2_MAKE_CREDENTIAL) return handle(req, io);
        const m = (await cborDecode(req.subarray(1))) as CborMap;
        m.set(4, [
          new Map<string, unknown>([
            ['alg', -8],
            ['type', 'public-key'],
          ]),
        ]);
        return handle(Buffer.concat([req.subarray(0, 1), await cborEncode(m)]), io);
      };
      await expectProtocol(key.makeCredential(mcRequest(), ctx), /credential algorithm -8, asked for -7/);
    });

    it('refuses a user-verified enrolment whose UV flag is missing', async function () {
      tamper(va, C.CTAP2_MAKE_CREDENTIAL, (m) => (authData(m)[32] &= ~0x04));
      await expectProtocol(
        key.makeCredential(mcRequest({ userVerification: true }), ctx),
        /user verification flag missing/,
      );
    });
  });
});
