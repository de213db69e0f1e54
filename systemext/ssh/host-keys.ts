// Host key checking against the keys the agent sent (config or the user's known_hosts): an
// unknown or changed key refuses the session, never trusted on first use. Pure functions.
import { createHash } from 'node:crypto';

export interface KnownHostKey {
  type: string;
  blob: Buffer;
}

export type HostKeyVerdict =
  { ok: true } | { ok: false; code: 'HOST_KEY_UNKNOWN' | 'HOST_KEY_CHANGED'; message: string };

/** Parses "type base64 [comment]" entries; bad entries are reported, not skipped silently. */
export function parseHostKeys(lines: string[]): { keys: KnownHostKey[]; errors: string[] } {
  const keys: KnownHostKey[] = [];
  const errors: string[] = [];
  for (const [i, line] of lines.entries()) {
    const m = /^(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s.*)?$/.exec(line.trim());
    const blob = m ? Buffer.from(m[2], 'base64') : null;
    const inner = blob && blob.length >= 4 ? blob.subarray(4, 4 + blob.readUInt32BE(0)).toString() : '';
    if (!m || !blob || inner !== m[1]) {
      errors.push(`hostKeys[${i}]: not a "type base64" public key`);
      continue;
    }
    keys.push({ type: m[1], blob });
  }
  return { keys, errors };
}

/** "SHA256:…" as ssh prints it (base64 without padding). */
export function sha256Fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key's type as ssh names it in messages ("ED25519", "ECDSA", "RSA"). */
export function keyKind(type: string): string {
  if (type === 'ssh-ed25519') return 'ED25519';
  if (type.startsWith('ecdsa-sha2-')) return 'ECDSA';
  if (type === 'ssh-rsa') return 'RSA';
  if (type === 'ssh-dss') return 'DSA';
  return type;
}

function blobType(blob: Buffer): string {
  return blob.length >= 4 ? blob.subarray(4, 4 + blob.readUInt32BE(0)).toString() : '?';
}

/** Checks the key a bastion offered; `where` is e.g. "bastion corp (bastion.corp:22)". */
export function checkHostKey(known: KnownHostKey[], offered: Buffer, where: string): HostKeyVerdict {
  if (known.some((k) => k.blob.equals(offered))) return { ok: true };
  const got = `${keyKind(blobType(offered))} key ${sha256Fingerprint(offered)}`;
  if (known.length === 0) {
    return {
      ok: false,
      code: 'HOST_KEY_UNKNOWN',
      message:
        `the host key of ${where} is not known: it offered ${got}. ` +
        "Add it to the bastion's host keys (or known_hosts) after checking it with the administrator",
    };
  }
  const want = known.map((k) => `${keyKind(k.type)} ${sha256Fingerprint(k.blob)}`).join(', ');
  return {
    ok: false,
    code: 'HOST_KEY_CHANGED',
    message:
      `HOST KEY CHANGED for ${where}: it offered ${got}, expected ${want}. ` +
      'Someone could be intercepting the connection (or the host key was replaced); refused',
  };
}

/** ssh2 host key algorithm names for the known keys, so the server offers a key we know. */
export function hostKeyAlgorithms(known: KnownHostKey[]): string[] {
  const algos: string[] = [];
  for (const k of known) {
    const names = k.type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [k.type];
    for (const n of names) if (SSH2_HOST_KEY_ALGOS.has(n) && !algos.includes(n)) algos.push(n);
  }
  return algos;
}

const SSH2_HOST_KEY_ALGOS = new Set([
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
]);
