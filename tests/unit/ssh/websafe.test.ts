// A web-origin credential (application not "ssh:…") signs only SSH logins for itself and SSHSIG,
// as OpenSSH's ssh-agent allows (issue 10 §1): anything else could be a web site's challenge.
import type { OperationContext } from '../../../app/fido/api';
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { COSE_ES256, type UserPrompter } from '../../../app/fido/api';
import type { Ctap2SecurityKey } from '../../../app/fido/security-key';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../../app/fido/testing';
import {
  encodePublicKeyBlob,
  SK_ECDSA_TYPE,
  SSH_SK_USER_PRESENCE_REQD,
  type SkKey,
} from '../../../app/ssh/keys';
import { parseSignedData } from '../../../app/ssh/signed-data';
import { signWithSkKey } from '../../../app/ssh/signer';
import { verifySkSignature } from '../../../app/ssh/signature';
import { SshWriter } from '../../../app/ssh/wire';

export function userauthData(keyBlob: Buffer, user = 'alice', hostKey?: Buffer): Buffer {
  const w = new SshWriter()
    .string(randomBytes(32))
    .byte(50)
    .string(user)
    .string('ssh-connection')
    .string(hostKey ? 'publickey-hostbound-v00@openssh.com' : 'publickey')
    .byte(1)
    .string(SK_ECDSA_TYPE)
    .string(keyBlob);
  if (hostKey) w.string(hostKey);
  return w.toBuffer();
}

export function sshsigData(namespace = 'git'): Buffer {
  const body = new SshWriter()
    .string(namespace)
    .string(Buffer.alloc(0))
    .string('sha512')
    .string(createHash('sha512').update('file').digest())
    .toBuffer();
  return Buffer.concat([Buffer.from('SSHSIG'), body]);
}

describe('ssh signer: web-origin keys', () => {
  let va: VirtualAuthenticator;
  let sk: Ctap2SecurityKey;
  let webKey: SkKey;
  const prompter: UserPrompter = { askPin: async () => null, touchNeeded: () => {}, touchDone: () => {} };
  const ctx: OperationContext = { purpose: { what: 'ssh-sign', requester: 'app' } };

  before(async () => {
    va = new VirtualAuthenticator();
    sk = await openVirtualSecurityKey(va, prompter);
    const cred = await sk.makeCredential(
      {
        rpId: 'webauthn.example.com',
        clientDataHash: randomBytes(32),
        userId: Buffer.alloc(32),
        userName: 'openssh',
        algorithm: COSE_ES256,
        residentKey: false,
        userVerification: false,
      },
      ctx,
    );
    webKey = {
      type: SK_ECDSA_TYPE,
      publicKey: cred.publicKey,
      application: 'webauthn.example.com',
      flags: SSH_SK_USER_PRESENCE_REQD,
      keyHandle: cred.credentialId,
      comment: '',
    };
  });
  after(async () => {
    await sk.close();
    va.unplug();
  });

  it('refuses arbitrary data (e.g. a web challenge) without touching the key', async () => {
    const before = va.signCount;
    let err: Error | undefined;
    await signWithSkKey(sk, webKey, randomBytes(32), ctx).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/refusing to sign with web-origin key .* neither an SSH login/);
    expect(va.signCount).to.equal(before);
  });

  it('refuses an SSH login for another key', async () => {
    const other = { ...webKey, publicKey: Buffer.concat([Buffer.from([4]), randomBytes(64)]) };
    let err: Error | undefined;
    await signWithSkKey(sk, webKey, userauthData(encodePublicKeyBlob(other)), ctx).catch(
      (e: Error) => (err = e),
    );
    expect(err?.message).to.match(/refusing to sign/);
  });

  it('signs an SSH login for itself (publickey and publickey-hostbound) and an SSHSIG', async () => {
    for (const data of [
      userauthData(encodePublicKeyBlob(webKey)),
      userauthData(encodePublicKeyBlob(webKey), 'bob', Buffer.from('hostkey')),
      sshsigData(),
    ]) {
      const sig = await signWithSkKey(sk, webKey, data, ctx);
      expect(verifySkSignature(webKey, data, sig)).to.not.equal(null);
    }
  });

  it('parses what is signed exactly as ssh-agent does', () => {
    const blob = encodePublicKeyBlob(webKey);
    expect(parseSignedData(userauthData(blob, 'carol', Buffer.from('hk')))).to.deep.include({
      kind: 'userauth',
      user: 'carol',
      method: 'publickey-hostbound-v00@openssh.com',
      hostKey: Buffer.from('hk'),
    });
    expect(parseSignedData(sshsigData('file'))).to.deep.equal({
      kind: 'sshsig',
      namespace: 'file',
      hashAlgorithm: 'sha512',
    });
    // Trailing bytes, a wrong service or an empty session id are not a login.
    expect(parseSignedData(Buffer.concat([userauthData(blob), Buffer.from([0])])).kind).to.equal('other');
    expect(parseSignedData(Buffer.concat([sshsigData(), Buffer.from([0])])).kind).to.equal('other');
    expect(parseSignedData(randomBytes(32)).kind).to.equal('other');
    // Another auth method, or an SSHSIG body without its magic, is not what it looks like.
    const password = userauthData(blob).toString('latin1').replace('publickey', 'passwordx');
    expect(parseSignedData(Buffer.from(password, 'latin1')).kind).to.equal('other');
    const noMagic = Buffer.concat([Buffer.from('XXXXXX'), sshsigData().subarray(6)]);
    expect(parseSignedData(noMagic).kind).to.equal('other');
  });
});
