import { expect } from 'chai';
import type { OperationContext } from '../../../app/fido/api';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { FLAG_UP, FLAG_UV } from '../../../app/fido/api';
import { enrollSkKey } from '../../../app/ssh/enroll';
import { SSH_SK_USER_PRESENCE_REQD, type SkKey } from '../../../app/ssh/keys';
import {
  parseDerEcdsaSignature,
  sshSignatureFromAssertion,
  verifySkSignature,
} from '../../../app/ssh/signature';
import { signWithSkKey } from '../../../app/ssh/signer';
import { SshReader } from '../../../app/ssh/wire';
import { VectorKey } from './vector-key';

const ctx: OperationContext = { purpose: { what: 'ssh-sign', requester: 'app' } };
const sha256 = (b: Buffer | string): Buffer => createHash('sha256').update(b).digest();

describe('ssh sk signatures', () => {
  let vk: VectorKey;
  let ecdsa: SkKey;
  let ed: SkKey;
  before(async () => {
    vk = new VectorKey();
    ecdsa = (await enrollSkKey(vk, {}, ctx)).key;
    ed = (await enrollSkKey(vk, { algorithm: 'ed25519', application: 'ssh:corp', verifyRequired: true }, ctx))
      .key;
  });

  it('encodes ECDSA as string(mpint r, mpint s), flags, counter and verifies like sshd', async () => {
    const data = Buffer.from('session-id and userauth request');
    const sig = await signWithSkKey(vk, ecdsa, data, ctx);
    const r = new SshReader(sig, 'sig');
    expect(r.text('type')).to.equal('sk-ecdsa-sha2-nistp256@openssh.com');
    const inner = new SshReader(r.string('inner'), 'inner');
    const rr = inner.mpintUnsigned('r');
    const ss = inner.mpintUnsigned('s');
    inner.end();
    const flags = r.byte('flags');
    const counter = r.uint32('counter');
    r.end();
    expect(flags).to.equal(FLAG_UP);
    expect(counter).to.equal(vk.counter);

    // Independently of our verifier: ECDSA-P256 over SHA256(app) || flags || counter || SHA256(data).
    const signed = Buffer.concat([sha256('ssh:'), Buffer.from([flags]), u32(counter), sha256(data)]);
    const pub = createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: ecdsa.publicKey.subarray(1, 33).toString('base64url'),
        y: ecdsa.publicKey.subarray(33).toString('base64url'),
      },
      format: 'jwk',
    });
    const p1363 = Buffer.concat([pad32(rr), pad32(ss)]);
    expect(verify('sha256', signed, { key: pub, dsaEncoding: 'ieee-p1363' }, p1363)).to.equal(true);
    expect(verifySkSignature(ecdsa, data, sig)).to.deep.equal({ flags, counter });
    expect(verifySkSignature(ecdsa, Buffer.from('other data'), sig)).to.equal(null);
  });

  it('encodes Ed25519 as the raw 64-byte signature over the unhashed message', async () => {
    const data = Buffer.from('hello');
    const sig = await signWithSkKey(vk, ed, data, ctx);
    const r = new SshReader(sig, 'sig');
    expect(r.text('type')).to.equal('sk-ssh-ed25519@openssh.com');
    const raw = r.string('sig');
    const flags = r.byte('flags');
    const counter = r.uint32('counter');
    expect(raw.length).to.equal(64);
    expect(flags).to.equal(FLAG_UP | FLAG_UV);
    const signed = Buffer.concat([sha256('ssh:corp'), Buffer.from([flags]), u32(counter), sha256(data)]);
    const pub = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: ed.publicKey.toString('base64url') },
      format: 'jwk',
    });
    expect(verify(null, signed, pub, raw)).to.equal(true);
  });

  it('refuses an assertion for another application or with extensions', async () => {
    const a = await vk.getAssertion({
      rpId: 'ssh:other',
      clientDataHash: sha256('x'),
      credentialIds: [ecdsa.keyHandle],
      userPresence: true,
      userVerification: false,
    });
    expect(() => sshSignatureFromAssertion(ecdsa, a)).to.throw(/another application/);
    const b = await vk.getAssertion({
      rpId: 'ssh:',
      clientDataHash: sha256('x'),
      credentialIds: [ecdsa.keyHandle],
      userPresence: true,
      userVerification: false,
    });
    const withExt = { ...b, authData: Buffer.concat([b.authData, Buffer.from([0xa0])]) };
    expect(() => sshSignatureFromAssertion(ecdsa, withExt)).to.throw(/extensions/);
  });

  it('refuses a signature without the touch a touch-required key asked for', async () => {
    expect(ecdsa.flags & SSH_SK_USER_PRESENCE_REQD).to.equal(1);
    vk.dropUp = true;
    try {
      let err: Error | undefined;
      await signWithSkKey(vk, ecdsa, Buffer.from('x'), ctx).catch((e) => (err = e));
      expect(err?.message).to.match(/without confirming user presence/);
    } finally {
      vk.dropUp = false;
    }
  });

  it('parses DER and rejects malformed DER', () => {
    const der = Buffer.from('3006020101020180', 'hex'); // s = 0x80 would be negative
    expect(() => parseDerEcdsaSignature(der)).to.throw(/negative INTEGER/);
    const ok = parseDerEcdsaSignature(Buffer.from('300702010102020080', 'hex'));
    expect(ok.r).to.deep.equal(Buffer.from([1]));
    expect(ok.s).to.deep.equal(Buffer.from([0, 0x80]));
    expect(() => parseDerEcdsaSignature(Buffer.from('3007020101', 'hex'))).to.throw(/not valid DER/);
  });
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function pad32(b: Buffer): Buffer {
  return Buffer.concat([Buffer.alloc(32 - b.length), b]);
}
