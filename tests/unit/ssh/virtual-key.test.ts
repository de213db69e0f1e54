// Enroll and sign through the project's virtual authenticator (CTAPHID + CTAP2, no root needed),
// checking each signature the way sshd does.
import type { OperationContext } from '../../../app/fido/api';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { type Ctap2SecurityKey, type UserPrompter } from '../../../app/fido';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../../app/fido/testing';
import { enrollSkKey } from '../../../app/ssh/enroll';
import { readPrivateKeyFile, writePrivateKeyFile } from '../../../app/ssh/keyfile';
import { SK_ECDSA_TYPE, SK_ED25519_TYPE, SSH_SK_RESIDENT_KEY } from '../../../app/ssh/keys';
import { verifySkSignature } from '../../../app/ssh/signature';
import { signWithSkKey } from '../../../app/ssh/signer';

describe('ssh sk keys on the virtual authenticator', () => {
  const PIN = '24680';
  let va: VirtualAuthenticator;
  let sk: Ctap2SecurityKey;
  const prompter: UserPrompter = {
    askPin: async () => PIN,
    touchNeeded: () => undefined,
    touchDone: () => undefined,
  };
  const ctx: OperationContext = { purpose: { what: 'ssh-sign', requester: 'app' } };

  before(async () => {
    va = new VirtualAuthenticator({ pin: PIN });
    sk = await openVirtualSecurityKey(va, prompter);
  });
  after(async () => {
    await sk.close();
    va.unplug();
  });

  for (const algorithm of ['ecdsa', 'ed25519'] as const) {
    it(`enrolls an sk-${algorithm} key, stores it in a file and signs with the loaded copy`, async () => {
      const { key } = await enrollSkKey(
        sk,
        { algorithm, resident: true, verifyRequired: true, comment: 'v' },
        ctx,
      );
      expect(key.type).to.equal(algorithm === 'ecdsa' ? SK_ECDSA_TYPE : SK_ED25519_TYPE);
      expect(key.flags & SSH_SK_RESIDENT_KEY).to.equal(SSH_SK_RESIDENT_KEY);
      const loaded = readPrivateKeyFile(writePrivateKeyFile(key));
      const data = randomBytes(100);
      const before = va.signCount;
      const sig = await signWithSkKey(sk, loaded, data, ctx);
      const details = verifySkSignature(loaded, data, sig);
      expect(details).to.not.equal(null);
      expect(details!.flags & 0x05).to.equal(0x05); // user present and verified
      expect(details!.counter).to.be.greaterThan(before);
    });
  }

  it('reports the security key not holding the credential', async () => {
    const { key } = await enrollSkKey(sk, {}, ctx);
    const other = new VirtualAuthenticator();
    const otherSk = await openVirtualSecurityKey(other, prompter);
    try {
      let err: Error | undefined;
      await signWithSkKey(otherSk, key, Buffer.from('x'), ctx).catch((e) => (err = e));
      expect((err as { code?: string }).code).to.equal('no-credentials');
    } finally {
      await otherSk.close();
      other.unplug();
    }
  });
});
