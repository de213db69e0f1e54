// Enrolls a new OpenSSH sk key on a security key, like `ssh-keygen -t ecdsa-sk|ed25519-sk`
// (ssh-keygen.c, ssh-sk.c sshsk_enroll): a FIDO credential for the application "ssh:…", created
// over a random challenge; the key's flags record whether signatures need touch and/or a PIN.
import { createHash, randomBytes } from 'node:crypto';
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
  /** User name for resident credentials; OpenSSH's default is "openssh". */
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
  const user = opts.user ?? 'openssh';
  // OpenSSH's user id: the user name zero-padded to 32 bytes (sk-usbhid.c); a resident key for the
  // same application and user replaces the previous one on the key.
  const userId = Buffer.alloc(32);
  Buffer.from(user, 'utf8').copy(userId, 0, 0, 32);
  const challenge = randomBytes(32);
  const res = await sk.makeCredential(
    {
      rpId: application,
      clientDataHash: createHash('sha256').update(challenge).digest(),
      userId,
      userName: user,
      algorithm: algorithm === 'ed25519' ? COSE_EDDSA : COSE_ES256,
      residentKey: !!opts.resident,
      userVerification: !!opts.verifyRequired,
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
