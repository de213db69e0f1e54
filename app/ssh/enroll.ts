// Enrolls a new OpenSSH sk key on a security key, like `ssh-keygen -t ecdsa-sk|ed25519-sk`
// (ssh-keygen.c, ssh-sk.c sshsk_enroll): a FIDO credential for the application "ssh:…", created
// over a random challenge; the key's flags record whether signatures need touch and/or a PIN.
import { randomBytes } from 'node:crypto';
import { sha256 } from '../fido/hash';
import { COSE_EDDSA, COSE_ES256, type OperationContext, type SecurityKey } from '../fido/api';
import {
  DEFAULT_APPLICATION,
  SK_ECDSA_TYPE,
  SK_ED25519_TYPE,
  SSH_SK_RESIDENT_KEY,
  SSH_SK_USER_PRESENCE_REQD,
  SSH_SK_USER_VERIFICATION_REQD,
  validateApplication,
  type SkKey,
} from './keys';

export interface EnrollOptions {
  /** 'ecdsa' (sk-ecdsa-sha2-nistp256, every FIDO2 key) or 'ed25519' (sk-ssh-ed25519, if the key can). */
  algorithm?: 'ecdsa' | 'ed25519';
  /** FIDO relying-party id; must start with "ssh:". Default "ssh:". */
  application?: string;
  /** Store the credential on the key so `ssh-keygen -K` can fetch it later. */
  resident?: boolean;
  /** Every signature needs the PIN (authorized_keys `verify-required`). */
  verifyRequired?: boolean;
  /** Signatures need no touch (authorized_keys `no-touch-required`). */
  noTouchRequired?: boolean;
  /**
   * `ssh-keygen -O user=…`: the FIDO user id of a resident credential (fewer than 32 bytes), so
   * several resident keys can live under one application. Default: 32 zero bytes, like OpenSSH.
   */
  user?: string;
  comment?: string;
}

export interface EnrollResult {
  key: SkKey;
  /** Attestation kept for callers that want to record it (ssh-keygen -O write-attestation). */
  attestation: { fmt: string; attStmt: Record<string, unknown>; authData: Buffer; challenge: Buffer };
}

export async function enrollSkKey(
  sk: SecurityKey,
  opts: EnrollOptions,
  ctx: OperationContext,
): Promise<EnrollResult> {
  const application = opts.application ?? DEFAULT_APPLICATION;
  validateApplication(application);
  const algorithm = opts.algorithm ?? 'ecdsa';
  // As sk-usbhid.c sk_enroll(): the user id is 32 zero bytes or the `user=` value NUL-padded
  // (strlcpy, so 32 bytes or more is refused), and the user name is always "openssh". Keys made by
  // ssh-keygen and by KeyVNet for the same application and user replace each other on the key.
  const userId = Buffer.alloc(32);
  if (opts.user !== undefined) {
    const bytes = Buffer.from(opts.user, 'utf8');
    if (bytes.length >= 32)
      throw new Error(`the resident key user "${opts.user}" is too long: at most 31 bytes (as ssh-keygen)`);
    bytes.copy(userId);
  }
  // credProtect as OpenSSH sets it: verify-required keys need UV for every use (level 3); other
  // resident keys cannot be listed or used without UV unless their id is known (level 2).
  const credProtect = opts.verifyRequired ? 3 : opts.resident ? 2 : undefined;
  const challenge = randomBytes(32);
  const res = await sk.makeCredential(
    {
      rpId: application,
      clientDataHash: sha256(challenge),
      userId,
      userName: 'openssh',
      algorithm: algorithm === 'ed25519' ? COSE_EDDSA : COSE_ES256,
      residentKey: !!opts.resident,
      userVerification: !!opts.verifyRequired,
      credProtect,
    },
    ctx,
  );
  const type = res.algorithm === COSE_EDDSA ? SK_ED25519_TYPE : SK_ECDSA_TYPE;
  if (type !== (algorithm === 'ed25519' ? SK_ED25519_TYPE : SK_ECDSA_TYPE)) {
    throw new Error(`${sk.label} returned a ${type} credential, ${algorithm} was asked for`);
  }
  const expectedLen = type === SK_ECDSA_TYPE ? 65 : 32;
  if (res.publicKey.length !== expectedLen) {
    throw new Error(`${sk.label} returned a ${res.publicKey.length}-byte public key for ${type}`);
  }
  let flags = 0;
  if (!opts.noTouchRequired) flags |= SSH_SK_USER_PRESENCE_REQD;
  if (opts.verifyRequired) flags |= SSH_SK_USER_VERIFICATION_REQD;
  if (opts.resident) flags |= SSH_SK_RESIDENT_KEY;
  return {
    key: {
      type,
      publicKey: Buffer.from(res.publicKey),
      application,
      flags,
      keyHandle: Buffer.from(res.credentialId),
      comment: opts.comment ?? '',
    },
    attestation: { fmt: res.fmt, attStmt: res.attStmt, authData: res.authData, challenge },
  };
}
