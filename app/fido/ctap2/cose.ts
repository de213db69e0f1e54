// COSE_Key encoding of public keys (RFC 9052 §7, RFC 9053 §7; CTAP 2.1 §6.5.6 for the
// key-agreement key) and conversion to/from Node KeyObjects.

import { createPublicKey, type KeyObject } from 'node:crypto';
import { COSE_EDDSA, COSE_ES256, type CoseAlgorithm } from '../api';
import { CborShapeError, getBytes, getInt, type CborMap } from './cbor';

export const COSE_KTY = 1;
export const COSE_ALG = 3;
export const COSE_CRV = -1;
export const COSE_X = -2;
export const COSE_Y = -3;
export const KTY_OKP = 1;
export const KTY_EC2 = 2;
export const CRV_P256 = 1;
export const CRV_ED25519 = 6;
/** "ECDH-ES + HKDF-256", the algorithm CTAP puts on key-agreement keys (§6.5.6). */
export const COSE_ECDH_ES_HKDF_256 = -25;

/** COSE map for an uncompressed P-256 point (0x04||X||Y). */
export function ec2CoseKey(point: Buffer, alg: number): CborMap {
  if (point.length !== 65 || point[0] !== 0x04) throw new Error('expected an uncompressed P-256 point');
  return new Map<number, unknown>([
    [COSE_KTY, KTY_EC2],
    [COSE_ALG, alg],
    [COSE_CRV, CRV_P256],
    [COSE_X, point.subarray(1, 33)],
    [COSE_Y, point.subarray(33, 65)],
  ]);
}

export function ed25519CoseKey(raw: Buffer): CborMap {
  return new Map<number, unknown>([
    [COSE_KTY, KTY_OKP],
    [COSE_ALG, COSE_EDDSA],
    [COSE_CRV, CRV_ED25519],
    [COSE_X, raw],
  ]);
}

/** P-256 point from an EC2 COSE key; validates curve and coordinate sizes. */
export function ec2Point(m: CborMap): Buffer {
  if (getInt(m, COSE_KTY, 'COSE kty') !== KTY_EC2 || getInt(m, COSE_CRV, 'COSE crv') !== CRV_P256) {
    throw new CborShapeError('COSE key is not a P-256 EC2 key');
  }
  const x = getBytes(m, COSE_X, 'COSE x');
  const y = getBytes(m, COSE_Y, 'COSE y');
  if (x.length !== 32 || y.length !== 32) throw new CborShapeError('COSE P-256 coordinates must be 32 bytes');
  return Buffer.concat([Buffer.from([0x04]), x, y]);
}

/** The credential public key in the form api.ts promises, plus its algorithm. */
export function credentialPublicKey(m: CborMap): { algorithm: CoseAlgorithm; publicKey: Buffer } {
  const alg = getInt(m, COSE_ALG, 'COSE alg');
  if (alg === COSE_ES256) return { algorithm: COSE_ES256, publicKey: ec2Point(m) };
  if (alg === COSE_EDDSA) {
    if (getInt(m, COSE_KTY, 'COSE kty') !== KTY_OKP || getInt(m, COSE_CRV, 'COSE crv') !== CRV_ED25519) {
      throw new CborShapeError('COSE EdDSA key is not Ed25519');
    }
    const x = getBytes(m, COSE_X, 'COSE x');
    if (x.length !== 32) throw new CborShapeError('Ed25519 public key must be 32 bytes');
    return { algorithm: COSE_EDDSA, publicKey: x };
  }
  throw new CborShapeError(`unsupported COSE algorithm ${alg}`);
}

/** Node KeyObject for a credential public key (for signature checks). */
export function publicKeyObject(algorithm: CoseAlgorithm, publicKey: Buffer): KeyObject {
  if (algorithm === COSE_ES256) {
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: publicKey.subarray(1, 33).toString('base64url'),
        y: publicKey.subarray(33, 65).toString('base64url'),
      },
      format: 'jwk',
    });
  }
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: publicKey.toString('base64url') },
    format: 'jwk',
  });
}

/** Raw public key bytes from a KeyObject, in api.ts form. */
export function rawPublicKey(algorithm: CoseAlgorithm, key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (algorithm === COSE_ES256) {
    return Buffer.concat([
      Buffer.from([4]),
      Buffer.from(jwk.x!, 'base64url'),
      Buffer.from(jwk.y!, 'base64url'),
    ]);
  }
  return Buffer.from(jwk.x!, 'base64url');
}
