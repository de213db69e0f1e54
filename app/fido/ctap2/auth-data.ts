// authenticatorData (WebAuthn Level 2 §6.1):
//   rpIdHash(32) | flags(1) | signCount(4, big-endian) | [attestedCredentialData] | [extensions]
//   attestedCredentialData = aaguid(16) | credentialIdLength(2, big-endian) | credentialId | COSE_Key

import { FLAG_AT, FLAG_ED } from '../api';
import { asMap, cborDecodeFirst, type CborMap } from './cbor';

export interface ParsedAuthData {
  rpIdHash: Buffer;
  flags: number;
  signCount: number;
  attested?: { aaguid: Buffer; credentialId: Buffer; publicKey: CborMap };
  /** Extension outputs (flag ED), e.g. credProtect. */
  extensions?: CborMap;
}

export class AuthDataError extends Error {}

export async function parseAuthData(data: Buffer): Promise<ParsedAuthData> {
  if (data.length < 37) throw new AuthDataError(`authenticatorData of ${data.length} bytes is too short`);
  const out: ParsedAuthData = {
    rpIdHash: data.subarray(0, 32),
    flags: data[32],
    signCount: data.readUInt32BE(33),
  };
  let rest = data.subarray(37);
  if (out.flags & FLAG_AT) {
    if (data.length < 55) throw new AuthDataError('attested credential data is truncated');
    const aaguid = data.subarray(37, 53);
    const idLen = data.readUInt16BE(53);
    if (data.length < 55 + idLen + 1) throw new AuthDataError('credential id is truncated');
    const credentialId = data.subarray(55, 55 + idLen);
    let key: unknown;
    try {
      [key, rest] = await cborDecodeFirst(data.subarray(55 + idLen));
    } catch (err) {
      throw new AuthDataError(`credential public key is not valid CBOR: ${(err as Error).message}`);
    }
    out.attested = { aaguid, credentialId, publicKey: asMap(key, 'credential public key') };
  }
  if (out.flags & FLAG_ED) {
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
