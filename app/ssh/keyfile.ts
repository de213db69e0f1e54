// OpenSSH private key files ("openssh-key-v1", OpenSSH PROTOCOL.key) for sk keys, plain or
// passphrase-protected the way `ssh-keygen` writes them by default (kdf "bcrypt", cipher
// "aes256-ctr"):
//   "openssh-key-v1\0", string ciphername, string kdfname, string kdfoptions, uint32 nkeys (1),
//   string public key blob, string private section (encrypted unless cipher "none")
// kdfoptions for bcrypt: string salt, uint32 rounds; bcrypt_pbkdf(passphrase, salt, rounds) gives
// 32 bytes of AES key then 16 of IV (sshkey.c, cipher.c).
// Private section (block size 8 for "none", 16 for AES):
//   uint32 checkint, uint32 checkint (equal; a mismatch means a wrong passphrase or corruption),
//   string key type, <public fields>, string application, byte flags, string key handle, string reserved,
//   string comment, padding 1,2,3,… up to a multiple of the block size.
// The sk private fields are those of sshkey_private_serialize_opt() (sshkey.c) for KEY_*_SK.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  decodePublicKeyBlob,
  encodePublicKeyBlob,
  readPublicFields,
  type SkKey,
  type SkPublicKey,
} from './keys';
import { SshFormatError, SshReader, SshWriter } from './wire';

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';
const BLOCK_SIZE = 8; // cipher "none" (cipher.c)
const AES_BLOCK_SIZE = 16;
const CIPHER = 'aes256-ctr';
const KDF = 'bcrypt';
/** ssh-keygen's default (DEFAULT_ROUNDS in ssh-keygen.c). */
export const DEFAULT_KDF_ROUNDS = 16;
/** Refuse files that would make us spin for minutes (ssh-keygen -a takes any number). */
const MAX_KDF_ROUNDS = 10_000;

/** A wrong passphrase (the check integers did not match after decryption). */
export class WrongPassphraseError extends SshFormatError {
  constructor() {
    super('wrong passphrase for the key file');
    this.name = 'WrongPassphraseError';
  }
}

type BcryptPbkdf = {
  pbkdf(
    pass: Uint8Array,
    passlen: number,
    salt: Uint8Array,
    saltlen: number,
    key: Uint8Array,
    keylen: number,
    rounds: number,
  ): number;
};

/** bcrypt_pbkdf (OpenBSD), from the package ssh2 depends on; 48 bytes: AES-256 key and IV. */
function deriveKeyIv(passphrase: string, salt: Buffer, rounds: number): { key: Buffer; iv: Buffer } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bcrypt = require('bcrypt-pbkdf') as BcryptPbkdf;
  const pass = Buffer.from(passphrase, 'utf8');
  const out = Buffer.alloc(48);
  if (bcrypt.pbkdf(pass, pass.length, salt, salt.length, out, out.length, rounds) !== 0)
    throw new SshFormatError('bcrypt_pbkdf failed');
  pass.fill(0);
  return { key: out.subarray(0, 32), iv: out.subarray(32) };
}

/** `passphrase`: protect the file as `ssh-keygen -p` does (bcrypt + aes256-ctr). */
export function writePrivateKeyFile(key: SkKey, passphrase?: string, rounds = DEFAULT_KDF_ROUNDS): string {
  const encrypted = passphrase !== undefined && passphrase !== '';
  const blockSize = encrypted ? AES_BLOCK_SIZE : BLOCK_SIZE;
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
  const padLen = (blockSize - (body.length % blockSize)) % blockSize;
  body = Buffer.concat([body, Buffer.from(Array.from({ length: padLen }, (_, i) => i + 1))]);
  let kdfOptions: Buffer = Buffer.alloc(0);
  if (encrypted) {
    const salt = randomBytes(16);
    kdfOptions = new SshWriter().string(salt).uint32(rounds).toBuffer();
    const { key: aesKey, iv } = deriveKeyIv(passphrase, salt, rounds);
    const c = createCipheriv('aes-256-ctr', aesKey, iv);
    body = Buffer.concat([c.update(body), c.final()]);
  }

  const file = new SshWriter()
    .raw(MAGIC)
    .string(encrypted ? CIPHER : 'none')
    .string(encrypted ? KDF : 'none')
    .string(kdfOptions)
    .uint32(1)
    .string(encodePublicKeyBlob(key))
    .string(body)
    .toBuffer();
  const b64 = file.toString('base64').match(/.{1,70}/g) ?? [];
  return `${BEGIN}\n${b64.join('\n')}\n${END}\n`;
}

/** What a key file says before any passphrase: its public key, and whether it is encrypted. */
export interface ParsedKeyFile {
  publicKey: SkPublicKey;
  encrypted: boolean;
  /** The full key; `passphrase` is needed when encrypted (WrongPassphraseError when wrong). */
  open(passphrase?: string): SkKey;
}

/** Reads an unencrypted key file (or an encrypted one with its passphrase). */
export function readPrivateKeyFile(text: string, passphrase?: string): SkKey {
  return parsePrivateKeyFile(text).open(passphrase);
}

export function parsePrivateKeyFile(text: string): ParsedKeyFile {
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
  const kdfOptions = r.string('kdf options');
  const encrypted = !(cipher === 'none' && kdf === 'none');
  let salt = Buffer.alloc(0);
  let rounds = 0;
  if (encrypted) {
    if (cipher !== CIPHER || kdf !== KDF) {
      throw new SshFormatError(
        `key files encrypted with cipher "${cipher}" and kdf "${kdf}" are not supported (only ${CIPHER} with ${KDF}, ` +
          "ssh-keygen's default); re-protect it with `ssh-keygen -p -Z aes256-ctr`",
      );
    }
    const k = new SshReader(kdfOptions, 'bcrypt kdf options');
    salt = Buffer.from(k.string('salt'));
    rounds = k.uint32('rounds');
    k.end();
    if (rounds < 1 || rounds > MAX_KDF_ROUNDS)
      throw new SshFormatError(`bcrypt rounds ${rounds} outside 1..${MAX_KDF_ROUNDS}`);
  }
  const nkeys = r.uint32('number of keys');
  if (nkeys !== 1)
    throw new SshFormatError(`OpenSSH private key file holds ${nkeys} keys; exactly 1 is supported`);
  const pubBlob = Buffer.from(r.string('public key blob'));
  const sealed = Buffer.from(r.string('private section'));
  r.end();
  const publicKey = decodePublicKeyBlob(pubBlob);
  return {
    publicKey,
    encrypted,
    open(passphrase?: string): SkKey {
      if (!encrypted) return openPrivateSection(sealed, pubBlob, BLOCK_SIZE, false);
      if (passphrase === undefined) throw new SshFormatError('the key file is protected by a passphrase');
      if (sealed.length % AES_BLOCK_SIZE !== 0)
        throw new SshFormatError(`private section length ${sealed.length} is not a multiple of 16`);
      const { key, iv } = deriveKeyIv(passphrase, salt, rounds);
      const d = createDecipheriv('aes-256-ctr', key, iv);
      const body = Buffer.concat([d.update(sealed), d.final()]);
      return openPrivateSection(body, pubBlob, AES_BLOCK_SIZE, true);
    },
  };
}

function openPrivateSection(body: Buffer, pubBlob: Buffer, blockSize: number, encrypted: boolean): SkKey {
  if (body.length % blockSize !== 0) {
    throw new SshFormatError(`private section length ${body.length} is not a multiple of ${blockSize}`);
  }
  const p = new SshReader(body, 'private section');
  const c1 = p.uint32('checkint 1');
  const c2 = p.uint32('checkint 2');
  if (c1 !== c2) {
    // sshkey.c: with a cipher, differing check integers mean a wrong passphrase.
    if (encrypted) throw new WrongPassphraseError();
    throw new SshFormatError('private section checkints differ: the file is corrupt');
  }
  const type = p.text('key type');
  const pub = readPublicFields(p, type);
  const flags = p.byte('flags');
  const keyHandle = Buffer.from(p.string('key handle'));
  p.string('reserved');
  const comment = p.text('comment');
  const padding = p.rest();
  if (padding.length >= blockSize || padding.some((b, i) => b !== i + 1)) {
    throw new SshFormatError('private section padding is wrong (expected 1,2,3,…): the file is corrupt');
  }
  if (keyHandle.length === 0) throw new SshFormatError('sk key has an empty key handle');
  const key: SkKey = { ...pub, flags, keyHandle, comment };
  if (!encodePublicKeyBlob(key).equals(pubBlob)) {
    throw new SshFormatError('public key blob does not match the private section');
  }
  return key;
}
