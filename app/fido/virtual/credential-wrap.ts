// Credential ids that carry their own private key, encrypted under the authenticator's master
// secret, like real U2F/FIDO keys' "key handles": the key stores nothing per credential.
//
//   id = version(1)=1 | info(1) | nonce(12) | AES-256-GCM(PKCS#8 private key) | tag(16)
//   info = alg (bit 0: 0 ES256, 1 EdDSA) | (credProtect level - 1) << 4
//
// The AAD binds the id to the relying party and to its header: an id only opens for the rpId it
// was made for, and its credProtect level cannot be lowered by editing the id.

import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { COSE_EDDSA, COSE_ES256, type CoseAlgorithm } from '../api';

const VERSION = 1;

function wrapKey(masterSecret: Buffer): Buffer {
  return Buffer.from(
    hkdfSync('sha256', masterSecret, Buffer.alloc(0), 'KeyVNet virtual key: credential wrap', 32),
  );
}

export function wrapCredential(
  masterSecret: Buffer,
  rpIdHash: Buffer,
  alg: CoseAlgorithm,
  key: KeyObject,
  credProtect: 1 | 2 | 3 = 1,
): Buffer {
  const header = Buffer.from([VERSION, (alg === COSE_ES256 ? 0 : 1) | ((credProtect - 1) << 4)]);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', wrapKey(masterSecret), nonce);
  cipher.setAAD(Buffer.concat([header, rpIdHash]));
  const der = key.export({ format: 'der', type: 'pkcs8' });
  const ct = Buffer.concat([cipher.update(der), cipher.final()]);
  return Buffer.concat([header, nonce, ct, cipher.getAuthTag()]);
}

/** The private key inside `id`, or null when the id is not ours or not for this rpId. */
export function unwrapCredential(
  masterSecret: Buffer,
  rpIdHash: Buffer,
  id: Buffer,
): { alg: CoseAlgorithm; key: KeyObject; credProtect: 1 | 2 | 3 } | null {
  if (id.length < 2 + 12 + 16 + 1 || id[0] !== VERSION || (id[1] & 0x0f) > 1 || id[1] >> 4 > 2) return null;
  const header = id.subarray(0, 2);
  try {
    const decipher = createDecipheriv('aes-256-gcm', wrapKey(masterSecret), id.subarray(2, 14));
    decipher.setAAD(Buffer.concat([header, rpIdHash]));
    decipher.setAuthTag(id.subarray(id.length - 16));
    const der = Buffer.concat([decipher.update(id.subarray(14, id.length - 16)), decipher.final()]);
    return {
      alg: (id[1] & 1) === 0 ? COSE_ES256 : COSE_EDDSA,
      credProtect: ((id[1] >> 4) + 1) as 1 | 2 | 3,
      key: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
    };
  } catch {
    return null;
  }
}
