// Enrolment the way OpenSSH's sk-usbhid.c does it (issue 10 §1): credProtect for resident and
// verify-required keys, the user id / user name of resident credentials. Each test failed before
// its fix.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { UserPrompter } from '../../../app/fido/api';
import type { Ctap2SecurityKey } from '../../../app/fido/security-key';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../../app/fido/testing';
import { enrollSkKey } from '../../../app/ssh/enroll';
import { signWithSkKey } from '../../../app/ssh/signer';
import { ctx, gaRequest, hash, rejection } from '../fido/helpers';

describe('ssh enrolment: OpenSSH interop', () => {
  const PIN = '24680';
  const prompter: UserPrompter = {
    askPin: async () => PIN,
    touchNeeded: () => undefined,
    touchDone: () => undefined,
  };
  const opened: { va: VirtualAuthenticator; sk: Ctap2SecurityKey }[] = [];
  async function open(opts: ConstructorParameters<typeof VirtualAuthenticator>[0] = {}) {
    const va = new VirtualAuthenticator({ pin: PIN, ...opts });
    const sk = await openVirtualSecurityKey(va, prompter);
    opened.push({ va, sk });
    return { va, sk };
  }
  afterEach(async () => {
    for (const { va, sk } of opened.splice(0)) {
      await sk.close();
      va.unplug();
    }
  });

  describe('credProtect', () => {
    it('a verify-required resident key cannot be listed or used without the PIN (level 3)', async () => {
      const { sk } = await open();
      const { key } = await enrollSkKey(sk, { resident: true, verifyRequired: true }, ctx);
      // Discoverable lookup and lookup by id, both without UV: the credential is not there.
      const noUv = { userVerification: false, clientDataHash: hash(randomBytes(8)) };
      expect((await rejection(sk.getAssertion(gaRequest([], noUv), ctx))).code).to.equal('no-credentials');
      expect((await rejection(sk.getAssertion(gaRequest([key.keyHandle], noUv), ctx))).code).to.equal(
        'no-credentials',
      );
      // With the PIN it signs.
      const sig = await signWithSkKey(sk, key, Buffer.from('data'), ctx);
      expect(sig.length).to.be.greaterThan(0);
    });

    it('a resident key without verify-required is hidden from discovery without UV (level 2)', async () => {
      const { sk } = await open();
      const { key } = await enrollSkKey(sk, { resident: true }, ctx);
      const noUv = { userVerification: false };
      expect((await rejection(sk.getAssertion(gaRequest([], noUv), ctx))).code).to.equal('no-credentials');
      // Its key handle (the key file) still signs with a touch alone, as with OpenSSH.
      await signWithSkKey(sk, key, Buffer.from('data'), ctx);
    });

    it('refuses resident and verify-required keys on a key without credProtect, as OpenSSH does', async () => {
      const { sk } = await open({ extensions: [] });
      for (const opts of [{ resident: true }, { verifyRequired: true }]) {
        const err = await rejection(enrollSkKey(sk, opts, ctx));
        expect(err.code).to.equal('unsupported');
        expect(err.message).to.match(/credProtect/);
      }
      // A plain key needs no credProtect.
      await enrollSkKey(sk, {}, ctx);
    });

    it('refuses a key that claims credProtect but does not apply it', async () => {
      const { va, sk } = await open();
      // An engine that lists the extension but ignores it: drop the request's extensions map.
      const engine = va.currentEngine!;
      const handle = engine.handle.bind(engine);
      engine.handle = async (req, io) => {
        if (req[0] !== 0x01) return handle(req, io);
        const { cborDecode, cborEncode } = await import('../../../app/fido/ctap2/cbor');
        const m = (await cborDecode(req.subarray(1))) as Map<number, unknown>;
        m.delete(6);
        return handle(Buffer.concat([req.subarray(0, 1), await cborEncode(m)]), io);
      };
      const err = await rejection(enrollSkKey(sk, { resident: true }, ctx));
      expect(err.code).to.equal('protocol');
      expect(err.message).to.match(/credProtect level none, asked for 2/);
    });
  });

  describe('user id and name of resident credentials', () => {
    it('uses 32 zero bytes as the user id and "openssh" as the name by default', async () => {
      const { va, sk } = await open();
      await enrollSkKey(sk, { resident: true }, ctx);
      const [cred] = va.store.state.residentCredentials;
      expect(cred.userId).to.equal('00'.repeat(32));
      expect(cred.userName).to.equal('openssh');
    });

    it('uses user= as the NUL-padded id, keeps the name "openssh", and refuses 32 bytes or more', async () => {
      const { va, sk } = await open();
      await enrollSkKey(sk, { resident: true, user: 'alice' }, ctx);
      const [cred] = va.store.state.residentCredentials;
      expect(Buffer.from(cred.userId, 'hex')).to.deep.equal(
        Buffer.concat([Buffer.from('alice'), Buffer.alloc(27)]),
      );
      expect(cred.userName).to.equal('openssh');
      await enrollSkKey(sk, { resident: true, user: 'x'.repeat(31) }, ctx);
      const err = await rejection(enrollSkKey(sk, { resident: true, user: 'x'.repeat(32) }, ctx));
      expect(err.message).to.match(/at most 31 bytes/);
    });

    it('a second resident key for the same application and user replaces the first', async () => {
      const { va, sk } = await open();
      await enrollSkKey(sk, { resident: true }, ctx);
      await enrollSkKey(sk, { resident: true }, ctx);
      await enrollSkKey(sk, { resident: true, application: 'ssh:other' }, ctx);
      expect(va.store.state.residentCredentials.map((c) => c.rpId)).to.deep.equal(['ssh:', 'ssh:other']);
    });
  });
});
