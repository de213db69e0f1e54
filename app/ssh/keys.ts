// OpenSSH FIDO ("sk") keys: public key blobs, authorized_keys lines and fingerprints.
// Layouts from OpenSSH PROTOCOL.u2f ("SSH U2F/FIDO key formats"):
//   string "sk-ecdsa-sha2-nistp256@openssh.com", string "nistp256", string Q (0x04||X||Y), string application
//   string "sk-ssh-ed25519@openssh.com", string public key (32 bytes), string application
import { sha256 } from '../fido/hash';
import { SshFormatError, SshReader, SshWriter } from './wire';

export const SK_ECDSA_TYPE = 'sk-ecdsa-sha2-nistp256@openssh.com';
export const SK_ED25519_TYPE = 'sk-ssh-ed25519@openssh.com';
export type SkKeyType = typeof SK_ECDSA_TYPE | typeof SK_ED25519_TYPE;

/** Key flags stored with the private key (OpenSSH sk-api.h). */
export const SSH_SK_USER_PRESENCE_REQD = 0x01;
export const SSH_SK_USER_VERIFICATION_REQD = 0x04;
export const SSH_SK_FORCE_OPERATION = 0x10;
export const SSH_SK_RESIDENT_KEY = 0x20;

export const DEFAULT_APPLICATION = 'ssh:';

export interface SkPublicKey {
  type: SkKeyType;
  /** ECDSA: 65-byte uncompressed P-256 point. Ed25519: 32 bytes. */
  publicKey: Buffer;
  /** FIDO relying-party id, always starting with "ssh:". */
  application: string;
}

/** What the agent and signer need: the public part plus what stays on this machine. */
export interface SkKey extends SkPublicKey {
  /** SSH_SK_* flags chosen at enrollment. */
  flags: number;
  /** The FIDO credential id. */
  keyHandle: Buffer;
  comment: string;
}

export function encodePublicKeyBlob(key: SkPublicKey): Buffer {
  const w = new SshWriter().string(key.type);
  if (key.type === SK_ECDSA_TYPE) w.string('nistp256');
  return w.string(key.publicKey).string(key.application).toBuffer();
}

/** Reads the type-specific public fields (after the type string) from `r`. */
export function readPublicFields(r: SshReader, type: string): SkPublicKey {
  if (type === SK_ECDSA_TYPE) {
    const curve = r.text('curve name');
    if (curve !== 'nistp256')
      throw new SshFormatError(`${SK_ECDSA_TYPE} key has curve "${curve}", expected nistp256`);
    const q = r.string('public point');
    if (q.length !== 65 || q[0] !== 0x04) {
      throw new SshFormatError(
        `${SK_ECDSA_TYPE} public point must be 65 bytes uncompressed, got ${q.length} bytes`,
      );
    }
    return { type, publicKey: Buffer.from(q), application: r.text('application') };
  }
  if (type === SK_ED25519_TYPE) {
    const pk = r.string('public key');
    if (pk.length !== 32)
      throw new SshFormatError(`${SK_ED25519_TYPE} public key must be 32 bytes, got ${pk.length}`);
    return { type, publicKey: Buffer.from(pk), application: r.text('application') };
  }
  throw new SshFormatError(
    `unsupported key type "${type}": only FIDO keys (${SK_ECDSA_TYPE}, ${SK_ED25519_TYPE}) are handled here`,
  );
}

export function decodePublicKeyBlob(blob: Buffer): SkPublicKey {
  const r = new SshReader(blob, 'public key blob');
  const key = readPublicFields(r, r.text('key type'));
  r.end();
  return key;
}

/** `ssh-keygen -l` style: "SHA256:" + unpadded base64 of SHA-256 over the public key blob. */
export function fingerprint(key: SkPublicKey): string {
  const digest = sha256(encodePublicKeyBlob(key)).toString('base64');
  return `SHA256:${digest.replace(/=+$/, '')}`;
}

/** The line `ssh-keygen -l -f` prints, e.g. "256 SHA256:… comment (ECDSA-SK)". */
export function fingerprintLine(key: SkPublicKey, comment: string): string {
  const label = key.type === SK_ECDSA_TYPE ? 'ECDSA-SK' : 'ED25519-SK';
  return `256 ${fingerprint(key)} ${comment || 'no comment'} (${label})`;
}

/** The one-line public key file (`id_ecdsa_sk.pub`): "type base64 comment". */
export function publicKeyLine(key: SkPublicKey, comment = ''): string {
  const line = `${key.type} ${encodePublicKeyBlob(key).toString('base64')}`;
  return comment ? `${line} ${comment}` : line;
}

/**
 * An authorized_keys line. sshd requires the user-presence flag in every signature unless the line
 * says `no-touch-required`, and requires user verification only if it says `verify-required`
 * (sshd(8) AUTHORIZED_KEYS FILE FORMAT), so the options mirror the key's enrollment flags.
 */
export function authorizedKeysLine(key: SkKey): string {
  const opts: string[] = [];
  if (!(key.flags & SSH_SK_USER_PRESENCE_REQD)) opts.push('no-touch-required');
  if (key.flags & SSH_SK_USER_VERIFICATION_REQD) opts.push('verify-required');
  const line = publicKeyLine(key, key.comment);
  return opts.length ? `${opts.join(',')} ${line}` : line;
}

/** Parses "type base64 [comment]" (a .pub file or the key part of an authorized_keys line). */
export function parsePublicKeyLine(line: string): { key: SkPublicKey; comment: string } {
  const m = /^(\S+)\s+([A-Za-z0-9+/=]+)(?:\s+(.*))?$/.exec(line.trim());
  if (!m) throw new SshFormatError('public key line must be "<type> <base64 blob> [comment]"');
  const key = decodePublicKeyBlob(Buffer.from(m[2], 'base64'));
  if (key.type !== m[1])
    throw new SshFormatError(`public key line says type "${m[1]}" but the blob is "${key.type}"`);
  return { key, comment: m[3] ?? '' };
}

export function describeFlags(flags: number): string {
  const out: string[] = [];
  out.push(flags & SSH_SK_USER_PRESENCE_REQD ? 'touch-required' : 'no-touch-required');
  if (flags & SSH_SK_USER_VERIFICATION_REQD) out.push('verify-required');
  if (flags & SSH_SK_RESIDENT_KEY) out.push('resident');
  return out.join(',');
}

export function validateApplication(application: string): void {
  // OpenSSH ssh-keygen refuses applications that do not start with "ssh:" (sk-usbhid.c, ssh-keygen.c).
  if (!application.startsWith('ssh:')) {
    throw new Error(`FIDO application "${application}" must start with "ssh:"`);
  }
}
