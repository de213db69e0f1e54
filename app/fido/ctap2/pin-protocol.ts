// PIN/UV auth protocols one and two (CTAP 2.1 §6.5.6 and §6.5.7). Pure crypto, used by both the
// client and the virtual authenticator. Randomness (ephemeral ECDH key, IV) can be injected so
// tests can check known answers.

import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
  type ECDH,
} from 'node:crypto';
import { sha256 } from '../hash';
import type { CborMap } from './cbor';
import { COSE_ECDH_ES_HKDF_256, ec2CoseKey, ec2Point } from './cose';

export type PinProtocolVersion = 1 | 2;

export interface PinUvAuthProtocol {
  readonly version: PinProtocolVersion;
  /** Shared secret from the ECDH x-coordinate Z. */
  kdf(z: Buffer): Buffer;
  encrypt(key: Buffer, plaintext: Buffer, iv?: Buffer): Buffer;
  decrypt(key: Buffer, ciphertext: Buffer): Buffer;
  authenticate(key: Buffer, message: Buffer): Buffer;
  verify(key: Buffer, message: Buffer, signature: Buffer): boolean;
}

function aesCbc(encrypt: boolean, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  if (data.length % 16 !== 0) throw new PinProtocolError('AES-CBC data is not a multiple of 16 bytes');
  const c = encrypt ? createCipheriv('aes-256-cbc', key, iv) : createDecipheriv('aes-256-cbc', key, iv);
  c.setAutoPadding(false); // CTAP pads itself (PINs to 64 bytes, hashes are 16/32)
  return Buffer.concat([c.update(data), c.final()]);
}

function hmac(key: Buffer, message: Buffer): Buffer {
  return createHmac('sha256', key).update(message).digest();
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export class PinProtocolError extends Error {}

/** Protocol one (§6.5.6): SHA-256(Z); AES-256-CBC with a zero IV; HMAC truncated to 16 bytes. */
export const pinProtocolOne: PinUvAuthProtocol = {
  version: 1,
  kdf: (z) => sha256(z),
  encrypt: (key, plaintext) => aesCbc(true, key, Buffer.alloc(16), plaintext),
  decrypt: (key, ciphertext) => aesCbc(false, key, Buffer.alloc(16), ciphertext),
  authenticate: (key, message) => hmac(key, message).subarray(0, 16),
  verify: (key, message, signature) => safeEqual(hmac(key, message).subarray(0, 16), signature),
};

/**
 * Protocol two (§6.5.7): HKDF-SHA-256 with a 32-byte zero salt gives an HMAC key and an AES key
 * (shared secret = hmacKey || aesKey); random IV prepended to ciphertexts; full 32-byte HMAC.
 * With a 64-byte shared secret the HMAC key is its first half; a pinUvAuthToken is used whole.
 */
export const pinProtocolTwo: PinUvAuthProtocol = {
  version: 2,
  kdf: (z) => {
    const salt = Buffer.alloc(32);
    const hmacKey = Buffer.from(hkdfSync('sha256', z, salt, 'CTAP2 HMAC key', 32));
    const aesKey = Buffer.from(hkdfSync('sha256', z, salt, 'CTAP2 AES key', 32));
    return Buffer.concat([hmacKey, aesKey]);
  },
  encrypt: (key, plaintext, iv = randomBytes(16)) =>
    Buffer.concat([iv, aesCbc(true, key.subarray(32, 64), iv, plaintext)]),
  decrypt: (key, ciphertext) => {
    if (ciphertext.length < 16) throw new PinProtocolError('ciphertext shorter than its IV');
    return aesCbc(false, key.subarray(32, 64), ciphertext.subarray(0, 16), ciphertext.subarray(16));
  },
  authenticate: (key, message) => hmac(key.length === 64 ? key.subarray(0, 32) : key, message),
  verify: (key, message, signature) =>
    safeEqual(hmac(key.length === 64 ? key.subarray(0, 32) : key, message), signature),
};

export function pinProtocol(version: number): PinUvAuthProtocol | undefined {
  return version === 1 ? pinProtocolOne : version === 2 ? pinProtocolTwo : undefined;
}

/** A P-256 key-agreement key pair (fixed private key for tests, random otherwise). */
export function newKeyAgreementKey(privateKey?: Buffer): ECDH {
  const ecdh = createECDH('prime256v1');
  if (privateKey) ecdh.setPrivateKey(privateKey);
  else ecdh.generateKeys();
  return ecdh;
}

/** The COSE form of our key-agreement public key (§6.5.6 getPublicKey). */
export function keyAgreementCose(ecdh: ECDH): CborMap {
  return ec2CoseKey(ecdh.getPublicKey(), COSE_ECDH_ES_HKDF_256);
}

/** ECDH with the peer's COSE key, then the protocol's KDF (§6.5.6 ecdh). */
export function sharedSecret(protocol: PinUvAuthProtocol, own: ECDH, peerCose: CborMap): Buffer {
  let z: Buffer;
  try {
    z = own.computeSecret(ec2Point(peerCose)); // the x-coordinate of the shared point
  } catch (err) {
    throw new PinProtocolError(`invalid key-agreement key: ${(err as Error).message}`);
  }
  return protocol.kdf(z);
}

/** Platform side of encapsulate (§6.5.6): our ephemeral COSE key and the shared secret. */
export function encapsulate(
  protocol: PinUvAuthProtocol,
  authenticatorKey: CborMap,
  ephemeralPrivate?: Buffer,
): { platformKey: CborMap; sharedSecret: Buffer } {
  const own = newKeyAgreementKey(ephemeralPrivate);
  return { platformKey: keyAgreementCose(own), sharedSecret: sharedSecret(protocol, own, authenticatorKey) };
}

/** LEFT(SHA-256(pin), 16), what the key compares (§6.5.5.5). */
export function pinHash16(pin: string): Buffer {
  return sha256(Buffer.from(pin.normalize('NFC'), 'utf8')).subarray(0, 16);
}

/** The PIN padded with zeros to 64 bytes for setPIN/changePIN (§6.5.5.5). */
export function paddedPin(pin: string): Buffer {
  const bytes = Buffer.from(pin.normalize('NFC'), 'utf8');
  if (bytes.length > 63) throw new PinProtocolError('the PIN is longer than 63 bytes');
  const out = Buffer.alloc(64);
  bytes.copy(out);
  return out;
}
