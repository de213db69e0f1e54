// Resident SSH keys: list the sk keys stored on a security key and turn them into key files, as
// `ssh-keygen -K` does (sk-usbhid.c read_rks): every credential whose application starts with
// "ssh:", flags "touch required" + "resident", plus "verify-required" when the key protects it
// with credProtect level 3. The user id (ssh-keygen -O user=) names the file.
import type { OperationContext } from '../fido/api';
import { COSE_EDDSA } from '../fido/api';
import type { Ctap2SecurityKey } from '../fido/security-key';
import {
  SK_ECDSA_TYPE,
  SK_ED25519_TYPE,
  SSH_SK_RESIDENT_KEY,
  SSH_SK_USER_PRESENCE_REQD,
  SSH_SK_USER_VERIFICATION_REQD,
  type SkKey,
} from './keys';

export interface ResidentSshKey {
  key: SkKey;
  /** The `user=` it was made with ('' for OpenSSH's default of 32 zero bytes). */
  user: string;
  /** File name ssh-keygen -K would use: id_ecdsa_sk_rk[_<user>] / id_ed25519_sk_rk[_<user>]. */
  fileName: string;
}

export async function listResidentSshKeys(
  sk: Ctap2SecurityKey,
  ctx?: OperationContext,
): Promise<ResidentSshKey[]> {
  const creds = await sk.listResidentCredentials(ctx);
  const out: ResidentSshKey[] = [];
  for (const c of creds) {
    if (!c.rpId.startsWith('ssh:')) continue; // web credentials are none of our business
    let flags = SSH_SK_USER_PRESENCE_REQD | SSH_SK_RESIDENT_KEY;
    if (c.credProtect === 3) flags |= SSH_SK_USER_VERIFICATION_REQD;
    const end = c.userId.indexOf(0);
    const user = c.userId.subarray(0, end < 0 ? c.userId.length : end).toString('utf8');
    const type = c.algorithm === COSE_EDDSA ? SK_ED25519_TYPE : SK_ECDSA_TYPE;
    const base = type === SK_ED25519_TYPE ? 'id_ed25519_sk_rk' : 'id_ecdsa_sk_rk';
    out.push({
      key: {
        type,
        publicKey: c.publicKey,
        application: c.rpId,
        flags,
        keyHandle: c.credentialId,
        comment: '',
      },
      user,
      // A user id with characters unfit for a file name keeps the plain name.
      fileName: user && /^[A-Za-z0-9._@-]+$/.test(user) ? `${base}_${user}` : base,
    });
  }
  return out;
}
