// SSH signatures for sk keys, built from a CTAP2 assertion (OpenSSH PROTOCOL.u2f, "Signature format"):
//   ECDSA:   string "sk-ecdsa-sha2-nistp256@openssh.com", string (mpint r, mpint s), byte flags, uint32 counter
//   Ed25519: string "sk-ssh-ed25519@openssh.com", string signature (64 bytes), byte flags, uint32 counter
// The authenticator signs authenticatorData || clientDataHash, i.e. (with no extensions)
//   SHA256(application) || flags || counter || SHA256(message)
// which is exactly what sshd rebuilds to verify (ssh-ecdsa-sk.c / ssh-ed25519-sk.c): ECDSA over the
// SHA-256 of it, Ed25519 over the bytes themselves.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { parseAuthData } from '../fido/ctap2/auth-data';
import { sha256 } from '../fido/hash';
import type { AssertionResult } from '../fido/api';
import { SK_ECDSA_TYPE, SK_ED25519_TYPE, type SkPublicKey } from './keys';
import { SshFormatError, SshReader, SshWriter } from './wire';

/** Reads an ASN.1 DER ECDSA-Sig-Value (SEQUENCE { INTEGER r, INTEGER s }, RFC 3279 §2.2.3). */
export function parseDerEcdsaSignature(der: Buffer): { r: Buffer; s: Buffer } {
  let pos = 0;
  const fail = (why: string): never => {
    throw new SshFormatError(`ECDSA signature from the security key is not valid DER: ${why}`);
  };
  const readLen = (): number => {
    if (pos >= der.length) fail('truncated length');
    const first = der[pos++];
    if (first < 0x80) return first;
    if (first !== 0x81 || pos >= der.length) fail('unsupported length encoding');
    return der[pos++];
  };
  const readInt = (): Buffer => {
    if (der[pos++] !== 0x02) fail('expected INTEGER');
    const len = readLen();
    if (len === 0 || pos + len > der.length) fail('bad INTEGER length');
    const v = der.subarray(pos, pos + len);
    pos += len;
    if (v[0] & 0x80) fail('negative INTEGER');
    return v;
  };
  if (der[pos++] !== 0x30) fail('expected SEQUENCE');
  const seqLen = readLen();
  if (pos + seqLen !== der.length) fail('SEQUENCE length does not match');
  const r = readInt();
  const s = readInt();
  if (pos !== der.length) fail('trailing bytes');
  return { r, s };
}

/**
 * Turns an assertion into the SSH signature blob. Checks that the authenticator signed for this
 * key's application and added no extensions (sshd's reconstruction of the signed data has none).
 */
export function sshSignatureFromAssertion(key: SkPublicKey, assertion: AssertionResult): Buffer {
  if (assertion.authData.length < 37)
    throw new SshFormatError(`authenticatorData is ${assertion.authData.length} bytes, expected ≥ 37`);
  const { rpIdHash, flags, signCount: counter } = parseAuthData(assertion.authData.subarray(0, 37));
  if (!rpIdHash.equals(sha256(key.application))) {
    throw new SshFormatError(`the security key signed for another application than "${key.application}"`);
  }
  if (assertion.authData.length !== 37) {
    throw new SshFormatError(
      'the security key added authenticatorData extensions; OpenSSH cannot verify those',
    );
  }
  let inner: Buffer;
  if (key.type === SK_ECDSA_TYPE) {
    const { r, s } = parseDerEcdsaSignature(assertion.signature);
    inner = new SshWriter().mpint(r).mpint(s).toBuffer();
  } else {
    if (assertion.signature.length !== 64) {
      throw new SshFormatError(`Ed25519 signature must be 64 bytes, got ${assertion.signature.length}`);
    }
    inner = assertion.signature;
  }
  return new SshWriter().string(key.type).string(inner).byte(flags).uint32(counter).toBuffer();
}

export interface SkSignatureDetails {
  flags: number;
  counter: number;
}

function publicKeyObject(key: SkPublicKey): KeyObject {
  if (key.type === SK_ECDSA_TYPE) {
    const x = key.publicKey.subarray(1, 33).toString('base64url');
    const y = key.publicKey.subarray(33, 65).toString('base64url');
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' });
  }
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: key.publicKey.toString('base64url') },
    format: 'jwk',
  });
}

/**
 * Verifies an sk signature the way sshd does (without sshd's flag policy, which the caller applies
 * to the returned flags). Throws SshFormatError on a malformed blob; returns null if it does not verify.
 */
export function verifySkSignature(key: SkPublicKey, message: Buffer, sig: Buffer): SkSignatureDetails | null {
  const r = new SshReader(sig, 'sk signature');
  const type = r.text('signature type');
  if (type !== key.type)
    throw new SshFormatError(`signature type "${type}" does not match key type "${key.type}"`);
  const inner = r.string('signature');
  const flags = r.byte('flags');
  const counter = r.uint32('counter');
  r.end();
  const signed = new SshWriter()
    .raw(sha256(key.application))
    .byte(flags)
    .uint32(counter)
    .raw(sha256(message))
    .toBuffer();
  let ok: boolean;
  if (key.type === SK_ED25519_TYPE) {
    ok = inner.length === 64 && verify(null, signed, publicKeyObject(key), inner);
  } else {
    const ir = new SshReader(inner, 'ECDSA signature');
    const rr = ir.mpintUnsigned('r');
    const ss = ir.mpintUnsigned('s');
    ir.end();
    if (rr.length > 32 || ss.length > 32) return null;
    const p1363 = Buffer.concat([Buffer.alloc(32 - rr.length), rr, Buffer.alloc(32 - ss.length), ss]);
    ok = verify('sha256', signed, { key: publicKeyObject(key), dsaEncoding: 'ieee-p1363' }, p1363);
  }
  return ok ? { flags, counter } : null;
}
