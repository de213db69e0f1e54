// The one SHA-256 helper of app/fido and app/ssh (rpIdHash, clientDataHash, fingerprints).
import { createHash } from 'node:crypto';

export function sha256(data: Buffer | Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}
