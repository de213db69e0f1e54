// CTAP2 status codes → FidoError with a sentence fit for a notification.

import { FidoError, type FidoErrorCode } from './api';
import * as C from './ctap2/constants';

const MAP: Record<number, [FidoErrorCode, string]> = {
  [C.CTAP2_ERR_PIN_INVALID]: ['pin-invalid', 'Wrong PIN for the security key.'],
  [C.CTAP2_ERR_PIN_BLOCKED]: [
    'pin-blocked',
    'The security key PIN is blocked after too many wrong attempts; reset the key to use it again (this erases its credentials).',
  ],
  [C.CTAP2_ERR_PIN_AUTH_BLOCKED]: [
    'pin-auth-blocked',
    'Too many wrong PINs in a row: remove and re-insert the security key, then try again.',
  ],
  [C.CTAP2_ERR_PIN_NOT_SET]: [
    'pin-not-set',
    'This operation needs a PIN, but the security key has no PIN set.',
  ],
  [C.CTAP2_ERR_PUAT_REQUIRED]: ['pin-required', 'The security key requires its PIN for this operation.'],
  [C.CTAP2_ERR_PIN_AUTH_INVALID]: [
    'protocol',
    'The security key rejected the PIN authentication; try again.',
  ],
  [C.CTAP2_ERR_PIN_POLICY_VIOLATION]: [
    'pin-policy',
    'The security key refused the new PIN: it is too short or too simple for this key, or the same as the old one. Choose another PIN.',
  ],
  [C.CTAP2_ERR_UV_INVALID]: ['uv-failed', 'The security key did not recognise your fingerprint; try again.'],
  [C.CTAP2_ERR_UV_BLOCKED]: [
    'uv-failed',
    'Fingerprint verification is blocked on the security key after too many attempts; use its PIN.',
  ],
  [C.CTAP2_ERR_OPERATION_DENIED]: ['user-denied', 'The operation was refused on the security key.'],
  [C.CTAP2_ERR_USER_ACTION_TIMEOUT]: ['timeout', 'The security key was not touched in time.'],
  [C.CTAP2_ERR_KEEPALIVE_CANCEL]: ['cancelled', 'The operation was cancelled.'],
  [C.CTAP2_ERR_NO_CREDENTIALS]: [
    'no-credentials',
    'This security key does not hold the requested credential.',
  ],
  [C.CTAP2_ERR_UNSUPPORTED_ALGORITHM]: [
    'unsupported',
    'The security key does not support this key algorithm.',
  ],
  [C.CTAP2_ERR_UNSUPPORTED_OPTION]: ['unsupported', 'The security key does not support a requested option.'],
  [C.CTAP2_ERR_KEY_STORE_FULL]: [
    'unsupported',
    'The security key has no room left for resident credentials.',
  ],
  [C.CTAP2_ERR_CREDENTIAL_EXCLUDED]: ['protocol', 'The security key already holds this credential.'],
  [C.CTAP1_ERR_INVALID_COMMAND]: ['unsupported', 'The security key does not support this command.'],
  [C.CTAP1_ERR_CHANNEL_BUSY]: ['protocol', 'The security key is busy with another application.'],
};

/** A CTAP2 error status from the key; `status` keeps the raw byte for callers that branch on it. */
export class CtapStatusError extends FidoError {
  constructor(
    readonly status: number,
    code: FidoErrorCode,
    message: string,
    retriesLeft?: number,
  ) {
    super(code, message, retriesLeft);
  }
}

export function ctapStatusError(status: number, retriesLeft?: number): CtapStatusError {
  const known = MAP[status];
  if (known) return new CtapStatusError(status, known[0], known[1], retriesLeft);
  const hex = status.toString(16).padStart(2, '0');
  return new CtapStatusError(status, 'protocol', `The security key reported error 0x${hex}.`);
}

export function hasStatus(err: unknown, status: number): boolean {
  return err instanceof CtapStatusError && err.status === status;
}
