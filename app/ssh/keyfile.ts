// OpenSSH private key files ("openssh-key-v1", OpenSSH PROTOCOL.key) for sk keys, unencrypted only.
//   "openssh-key-v1\0", string ciphername, string kdfname, string kdfoptions, uint32 nkeys (1),
//   string public key blob, string private section
// Private section (cipher "none" ⇒ block size 8):
//   uint32 checkint, uint32 checkint (equal; a mismatch means a wrong passphrase or corruption),
//   string key type, <public fields>, string application, byte flags, string key handle, string reserved,
//   string comment, padding 1,2,3,… up to a multiple of the block size.
// The sk private fields are those of sshkey_private_serialize_opt() (sshkey.c) for KEY_*_SK.
import { randomBytes } from 'node:crypto';
import { encodePublicKeyBlob, readPublicFields, type SkKey } from './keys';
import { SshFormatError, SshReader, SshWriter } from './wire';

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';
const BLOCK_SIZE = 8; // cipher "none" (cipher.c)

export function writePrivateKeyFile(key: SkKey): string {
  const check = randomBytes(4).readUInt32BE(0);
  const priv = new SshWriter().uint32(check).uint32(check);
  // The private fields begin with exactly the public key blob (type, public fields, application).
  priv
    .raw(encodePublicKeyBlob(key))
    .byte(key.flags)
    .string(key.keyHandle)
    .string(Buffer.alloc(0)) // reserved
    .string(key.comment);
  let body = priv.toBuffer();
  const padLen = (BLOCK_SIZE - (body.length % BLOCK_SIZE)) % BLOCK_SIZE;
  body = Buffer.concat([body, Buffer.from(Array.from({ length: padLen }, (_, i) => i + 1))]);

  const file = new SshWriter()
    .raw(MAGIC)
    .string('none')
    .string('none')
    .string(Buffer.alloc(0))
    .uint32(1)
    .string(encodePublicKeyBlob(key))
    .string(body)
    .toBuffer();
  const b64 = file.toString('base64').match(/.{1,70}/g) ?? [];
  return `${BEGIN}\n${b64.join('\n')}\n${END}\n`;
}

export function readPrivateKeyFile(text: string): SkKey {
  const start = text.indexOf(BEGIN);
  const stop = text.indexOf(END);
  if (start < 0 || stop < start) {
    throw new SshFormatError(`not an OpenSSH private key file: missing "${BEGIN}" / "${END}" lines`);
  }
  const b64 = text.slice(start + BEGIN.length, stop).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64))
    throw new SshFormatError('OpenSSH private key file: invalid base64 body');
  const data = Buffer.from(b64, 'base64');
  if (data.length < MAGIC.length || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new SshFormatError('OpenSSH private key file: missing "openssh-key-v1" magic');
  }
  const r = new SshReader(data.subarray(MAGIC.length), 'OpenSSH private key file');
  const cipher = r.text('cipher name');
  const kdf = r.text('kdf name');
  r.string('kdf options');
  if (cipher !== 'none' || kdf !== 'none') {
    // bcrypt-pbkdf + aes256-ctr would need a Blowfish implementation; not done yet.
    throw new SshFormatError(
      `passphrase-protected keys are not supported yet (cipher "${cipher}", kdf "${kdf}"); ` +
        'remove the passphrase with `ssh-keygen -p -N ""` or re-enroll',
    );
  }
  const nkeys = r.uint32('number of keys');
  if (nkeys !== 1)
    throw new SshFormatError(`OpenSSH private key file holds ${nkeys} keys; exactly 1 is supported`);
  const pubBlob = r.string('public key blob');
  const body = r.string('private section');
  r.end();

  if (body.length % BLOCK_SIZE !== 0) {
    throw new SshFormatError(`private section length ${body.length} is not a multiple of ${BLOCK_SIZE}`);
  }
  const p = new SshReader(body, 'private section');
  const c1 = p.uint32('checkint 1');
  const c2 = p.uint32('checkint 2');
  if (c1 !== c2) throw new SshFormatError('private section checkints differ: the file is corrupt');
  const type = p.text('key type');
  const pub = readPublicFields(p, type);
  const flags = p.byte('flags');
  const keyHandle = Buffer.from(p.string('key handle'));
  p.string('reserved');
  const comment = p.text('comment');
  const padding = p.rest();
  if (padding.length >= BLOCK_SIZE || padding.some((b, i) => b !== i + 1)) {
    throw new SshFormatError('private section padding is wrong (expected 1,2,3,…): the file is corrupt');
  }
  if (keyHandle.length === 0) throw new SshFormatError('sk key has an empty key handle');
  const key: SkKey = { ...pub, flags, keyHandle, comment };
  if (!encodePublicKeyBlob(key).equals(pubBlob)) {
    throw new SshFormatError('public key blob does not match the private section');
  }
  return key;
}
