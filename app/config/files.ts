// Checks of the files a config names: the bastion key (an OpenSSH security-key "sk-" key, private file
// or .pub) and an explicitly given known_hosts file. Each returns what is wrong, or null.
import { readFileSync, statSync } from 'node:fs';
import { blobProblem } from './values';

const MAX_KEY_FILE = 64 * 1024;
const EXPECTED_KEY =
  'expected an OpenSSH security-key file, made by "ssh-keygen -t ecdsa-sk" or "-t ed25519-sk", or its .pub';

function fileProblem(path: string, maxSize = Infinity): string | null {
  try {
    const st = statSync(path);
    if (!st.isFile()) return `${path} is not a file`;
    if (st.size > maxSize) return `${path} is too large (${st.size} bytes) to be a key`;
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return `no such file: ${path}`;
    return `cannot read ${path}: ${(err as Error).message}`;
  }
}

/** The key type named inside a private key file's (always unencrypted) public part, or null. */
function privateKeyType(text: string): string | null {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text);
  if (!m) return null;
  const data = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  let at = 'openssh-key-v1\0'.length;
  if (data.subarray(0, at).toString('latin1') !== 'openssh-key-v1\0') return null;
  const str = (): Buffer | null => {
    if (at + 4 > data.length) return null;
    const len = data.readUInt32BE(at);
    if (at + 4 + len > data.length) return null;
    const s = data.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    return s;
  };
  for (let k = 0; k < 3; k++) if (!str()) return null; // cipher, kdf name, kdf options
  at += 4; // number of keys
  const blob = str();
  if (!blob || blob.length < 4 || 4 + blob.readUInt32BE(0) > blob.length) return null;
  return blob.subarray(4, 4 + blob.readUInt32BE(0)).toString('latin1');
}

export function keyFileProblem(path: string): string | null {
  const missing = fileProblem(path, MAX_KEY_FILE);
  if (missing) return `${missing}: ${EXPECTED_KEY}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return `cannot read ${path}: ${(err as Error).message}`;
  }
  let type: string | null;
  if (text.includes('-----BEGIN OPENSSH PRIVATE KEY-----')) {
    type = privateKeyType(text);
    if (!type) return `${path} is a damaged OpenSSH private key file: ${EXPECTED_KEY}`;
  } else {
    const [t, b64] = text.trim().split(/\s+/);
    if (!t || !b64 || blobProblem(t, b64)) return `${path} is not an OpenSSH key file: ${EXPECTED_KEY}`;
    type = t;
  }
  if (!type.startsWith('sk-')) return `${path} is a ${type} key, not a security-key one: ${EXPECTED_KEY}`;
  return null;
}

export function knownHostsFileProblem(path: string): string | null {
  const p = fileProblem(path);
  return p && `${p}: expected a known_hosts file (or leave known_hosts out to use ~/.ssh/known_hosts)`;
}
