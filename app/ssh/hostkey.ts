// SSH host keys for session-bind@openssh.com (PROTOCOL.agent): verify the server's signature over
// the session id, fingerprint the key, and find a host name for it in known_hosts for the prompt.
// Ed25519, ECDSA (nistp256/384/521) and RSA (rsa-sha2-256/512) host keys, the ones sshd offers.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sha256 } from '../fido/hash';
import { SshFormatError, SshReader } from './wire';

const ECDSA_CURVES: Record<string, { crv: string; hash: string; size: number }> = {
  nistp256: { crv: 'P-256', hash: 'sha256', size: 32 },
  nistp384: { crv: 'P-384', hash: 'sha384', size: 48 },
  nistp521: { crv: 'P-521', hash: 'sha512', size: 66 },
};

const b64url = (b: Buffer): string => b.toString('base64url');

/** `SHA256:…` as ssh-keygen -l prints it. */
export function hostKeyFingerprint(blob: Buffer): string {
  return `SHA256:${sha256(blob).toString('base64').replace(/=+$/, '')}`;
}

/** True when `signature` (an SSH signature blob) by host key `hostKeyBlob` verifies over `data`. */
export function verifyHostKeySignature(hostKeyBlob: Buffer, data: Buffer, signature: Buffer): boolean {
  try {
    const k = new SshReader(hostKeyBlob, 'host key');
    const keyType = k.text('key type');
    const s = new SshReader(signature, 'host key signature');
    const sigType = s.text('signature type');
    const sig = s.string('signature');
    s.end();
    if (keyType === 'ssh-ed25519') {
      const pk = k.string('public key');
      k.end();
      if (sigType !== keyType || pk.length !== 32) return false;
      const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(pk) }, format: 'jwk' });
      return verify(null, data, key, sig);
    }
    if (keyType.startsWith('ecdsa-sha2-')) {
      const curve = ECDSA_CURVES[k.text('curve')];
      const q = k.string('public point');
      k.end();
      if (!curve || sigType !== keyType || q.length !== 1 + 2 * curve.size || q[0] !== 4) return false;
      const key: KeyObject = createPublicKey({
        key: {
          kty: 'EC',
          crv: curve.crv,
          x: b64url(q.subarray(1, 1 + curve.size)),
          y: b64url(q.subarray(1 + curve.size)),
        },
        format: 'jwk',
      });
      const rs = new SshReader(sig, 'ECDSA signature');
      const r = fixed(rs.mpintUnsigned('r'), curve.size);
      const sv = fixed(rs.mpintUnsigned('s'), curve.size);
      rs.end();
      if (!r || !sv) return false;
      return verify(curve.hash, data, { key, dsaEncoding: 'ieee-p1363' }, Buffer.concat([r, sv]));
    }
    if (keyType === 'ssh-rsa') {
      const e = k.mpintUnsigned('e');
      const n = k.mpintUnsigned('n');
      k.end();
      // SHA-1 signatures (plain "ssh-rsa") are refused, as OpenSSH does by default.
      const hash = sigType === 'rsa-sha2-256' ? 'sha256' : sigType === 'rsa-sha2-512' ? 'sha512' : null;
      if (!hash) return false;
      const key = createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
      return verify(hash, data, key, sig);
    }
    return false;
  } catch (err) {
    if (err instanceof SshFormatError || err instanceof Error) return false;
    throw err;
  }
}

function fixed(v: Buffer, size: number): Buffer | null {
  if (v.length > size) return null;
  return Buffer.concat([Buffer.alloc(size - v.length), v]);
}

/**
 * The first host name that known_hosts files give for this key, so the prompt can say "connect to
 * bastion.example.com" instead of a fingerprint. Hashed entries cannot be reversed and are skipped.
 */
export function hostNameForKey(hostKeyBlob: Buffer, files: string[]): string | undefined {
  const b64 = hostKeyBlob.toString('base64');
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 3 || fields[0].startsWith('#') || fields[0].startsWith('@')) continue;
      if (fields[2] !== b64) continue;
      const name = fields[0]
        .split(',')
        .find((h) => !h.startsWith('|') && !h.startsWith('!') && !/[*?]/.test(h));
      if (name) return name.replace(/^\[([^\]]+)\]:\d+$/, '$1');
    }
  }
  return undefined;
}
