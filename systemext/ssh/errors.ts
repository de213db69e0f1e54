// DialErrors of the SSH transport, and how ssh2's errors map onto them.
import { DialError } from '../vnet/dialer';
import type { SshDialErrorCode } from './types';

export function sshError(code: SshDialErrorCode, message: string): DialError {
  return new DialError(message, code);
}

export function isDialError(err: unknown): err is DialError {
  return err instanceof DialError;
}

/** The DialError an AbortSignal carries, or CANCELLED. */
export function abortError(signal: AbortSignal, what: string): DialError {
  return isDialError(signal.reason) ? signal.reason : sshError('CANCELLED', `${what} was cancelled`);
}

/** Maps a network-level error of the session's transport to UNREACHABLE with the reason. */
export function transportError(err: Error & { code?: string; level?: string }, where: string): DialError {
  const detail = err.code ? `${err.code}: ${err.message}` : err.message;
  return sshError('UNREACHABLE', `cannot reach ${where}: ${detail}`);
}
