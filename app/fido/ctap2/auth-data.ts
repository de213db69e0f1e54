// authenticatorData (WebAuthn Level 2 §6.1):
//   rpIdHash(32) | flags(1) | signCount(4, big-endian) | [attestedCredentialData] | [extensions]
//   attestedCredentialData = aaguid(16) | credentialIdLength(2, big-endian) | credentialId | COSE_Key

import { FLAG_AT, FLAG_ED } from '../api';
import { asMap, cborDecodeFirst, type CborMap } from './cbor';

export interface ParsedAuthData {
  rpIdHash: Buffer;
  flags: number;
  signCount: number;
  /** Attested credential data (flag AT), without its COSE key (see decodeAuthDataCbor). */
  attested?: { aaguid: Buffer; credentialId: Buffer };
  /** What follows: the credential public key (flag AT) then the extension outputs (flag ED), CBOR. */
  cborTail: Buffer;
}

export class AuthDataError extends Error {}

/**
 * The one parser of authenticatorData, for the FIDO client and the SSH signatures alike. Sync:
 * the CBOR parts are decoded by decodeAuthDataCbor() when needed.
 */
export function parseAuthData(data: Buffer): ParsedAuthData {
  if (data.length < 37) throw new AuthDataError(`authenticatorData of ${data.length} bytes is too short`);
  const out: ParsedAuthData = {
    rpIdHash: data.subarray(0, 32),
    flags: data[32],
    signCount: data.readUInt32BE(33),
    cborTail: data.subarray(37),
  };
  if (out.flags & FLAG_AT) {
    if (data.length < 55) throw new AuthDataError('attested credential data is truncated');
    const aaguid = data.subarray(37, 53);
    const idLen = data.readUInt16BE(53);
    if (data.length < 55 + idLen + 1) throw new AuthDataError('credential id is truncated');
    out.attested = { aaguid, credentialId: data.subarray(55, 55 + idLen) };
    out.cborTail = data.subarray(55 + idLen);
  }
  if (!(out.flags & (FLAG_AT | FLAG_ED)) && out.cborTail.length > 0)
    throw new AuthDataError(`${out.cborTail.length} unexpected bytes after authenticatorData`);
  return out;
}

/** The credential public key (flag AT) and extension outputs (flag ED); nothing may follow them. */
export async function decodeAuthDataCbor(
  parsed: ParsedAuthData,
): Promise<{ publicKey?: CborMap; extensions?: CborMap }> {
  let rest = parsed.cborTail;
  const out: { publicKey?: CborMap; extensions?: CborMap } = {};
  if (parsed.flags & FLAG_AT) {
    let key: unknown;
    try {
      [key, rest] = await cborDecodeFirst(rest);
    } catch (err) {
      throw new AuthDataError(`credential public key is not valid CBOR: ${(err as Error).message}`);
    }
    out.publicKey = asMap(key, 'credential public key');
  }
  if (parsed.flags & FLAG_ED) {
    let ext: unknown;
    try {
      [ext, rest] = await cborDecodeFirst(rest);
    } catch (err) {
      throw new AuthDataError(`extension outputs are not valid CBOR: ${(err as Error).message}`);
    }
    out.extensions = asMap(ext, 'extension outputs');
  }
  if (rest.length > 0) throw new AuthDataError(`${rest.length} unexpected bytes after authenticatorData`);
  return out;
}

export function buildAuthData(
  rpIdHash: Buffer,
  flags: number,
  signCount: number,
  attested?: { aaguid: Buffer; credentialId: Buffer; coseKey: Buffer },
): Buffer {
  const head = Buffer.alloc(37);
  rpIdHash.copy(head, 0);
  head[32] = flags;
  head.writeUInt32BE(signCount >>> 0, 33);
  if (!attested) return head;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(attested.credentialId.length);
  return Buffer.concat([head, attested.aaguid, len, attested.credentialId, attested.coseKey]);
}
