// The signing core: one SSH signature from one sk key on a security key. Shared by the ssh-agent
// and (through IPC) the daemon's bastion logins, so it knows nothing about sockets.
import { FidoError, type OperationContext, type SecurityKey } from '../fido/api';
import { sha256 } from '../fido/hash';
import {
  encodePublicKeyBlob,
  fingerprint,
  SSH_SK_USER_PRESENCE_REQD,
  SSH_SK_USER_VERIFICATION_REQD,
  type SkKey,
} from './keys';
import { sshSignatureFromAssertion, verifySkSignature } from './signature';
import { parseSignedData } from './signed-data';

export class SkSignError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SkSignError';
  }
}

/**
 * Signs `data` with an sk key (PROTOCOL.u2f): the authenticator's clientDataHash is SHA-256 of the
 * data, touch is asked unless the key is no-touch-required, the PIN if it is verify-required.
 * Returns the SSH signature blob, verified against the public key before it leaves this function.
 *
 * `ctx.purpose` is what the prompts show; `ctx.signal` cancels (the key stops blinking, the prompt
 * closes); `ctx.timeoutMs` caps the request once it reaches the key. Requests to one security key
 * queue in its RequestQueue (app/fido/request-queue.ts), which the UI can list and cancel.
 */
export async function signWithSkKey(
  sk: SecurityKey,
  key: SkKey,
  data: Buffer,
  ctx: OperationContext,
): Promise<Buffer> {
  checkWebsafe(key, data);
  const assertion = await sk.getAssertion(
    {
      rpId: key.application,
      clientDataHash: sha256(data),
      credentialIds: [key.keyHandle],
      userPresence: (key.flags & SSH_SK_USER_PRESENCE_REQD) !== 0,
      userVerification: (key.flags & SSH_SK_USER_VERIFICATION_REQD) !== 0,
    },
    ctx,
  );
  const sig = sshSignatureFromAssertion(key, assertion);
  const details = verifySkSignature(key, data, sig);
  if (!details)
    throw new SkSignError(`signature from ${sk.label} does not verify with key ${fingerprint(key)}`);
  if (key.flags & SSH_SK_USER_PRESENCE_REQD && !(details.flags & SSH_SK_USER_PRESENCE_REQD)) {
    throw new SkSignError(`${sk.label} signed without confirming user presence (no touch)`);
  }
  if (key.flags & SSH_SK_USER_VERIFICATION_REQD && !(details.flags & SSH_SK_USER_VERIFICATION_REQD)) {
    throw new SkSignError(`${sk.label} signed without verifying the user (no PIN)`);
  }
  return sig;
}

/**
 * A key whose application is not "ssh:…" may be a web origin's credential (made by a browser
 * for https://…): signing arbitrary data with it could answer that site's login challenge. Like
 * OpenSSH's ssh-agent (restrict_websafe), such a key signs only an SSH userauth request for
 * itself or an SSHSIG.
 */
export function checkWebsafe(key: SkKey, data: Buffer): void {
  if (key.application.startsWith('ssh:')) return;
  const parsed = parseSignedData(data);
  if (parsed.kind === 'sshsig') return;
  if (parsed.kind === 'userauth' && parsed.keyBlob.equals(encodePublicKeyBlob(key))) return;
  throw new SkSignError(
    `refusing to sign with web-origin key ${fingerprint(key)} (application "${key.application}"): ` +
      'the data is neither an SSH login for this key nor an SSHSIG signature',
  );
}

/** A one-line human explanation of why signing failed, for logs and prompts. */
export function describeSignError(err: unknown): string {
  if (err instanceof FidoError) {
    switch (err.code) {
      case 'user-denied':
        return 'touch was denied on the security key';
      case 'timeout':
        return err.message.includes('did not finish within')
          ? 'the request timed out'
          : 'the security key was not touched in time';
      case 'pin-invalid':
        return err.retriesLeft !== undefined
          ? `wrong PIN (${err.retriesLeft} ${err.retriesLeft === 1 ? 'retry' : 'retries'} left)`
          : 'wrong PIN';
      case 'pin-blocked':
        return 'the PIN is blocked: the security key must be reset';
      case 'pin-auth-blocked':
        return 'too many wrong PINs: remove and re-insert the security key';
      case 'pin-required':
        return 'a PIN is required and none was given';
      case 'pin-not-set':
        return 'the key needs user verification but the security key has no PIN set';
      case 'no-credentials':
        return 'this security key does not hold the credential for the key (wrong security key?)';
      case 'cancelled':
        return 'the operation was cancelled';
      case 'device-removed':
        return 'the security key was removed';
      default:
        return `security key error (${err.code}): ${err.message}`;
    }
  }
  return err instanceof Error ? err.message : String(err);
}
