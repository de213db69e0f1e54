// DialErrors of the SSH transport, and how ssh2's errors map onto them.
import { DialError } from '../vnet/dialer';
import type { SshDialErrorCode } from './types';

export function sshError(code: SshDialErrorCode, message: string): DialError {
  return new DialError(message, code);
}

export function isDialError(err: unknown): err is DialError {
  return err instanceof DialError;
}

/**
 * The DialError an AbortSignal carries; SETUP_TIMEOUT for a deadline (AbortSignal.timeout), so a
 * slow bastion is not reported as a cancel; otherwise CANCELLED.
 */
export function abortError(signal: AbortSignal, what: string): DialError {
  const reason: unknown = signal.reason;
  if (isDialError(reason)) return reason;
  if ((reason as { name?: string } | undefined)?.name === 'TimeoutError') {
    return sshError('SETUP_TIMEOUT', `${what} did not finish before its deadline`);
  }
  return sshError('CANCELLED', `${what} was cancelled`);
}

/** Maps a network-level error of the session's transport to UNREACHABLE with the reason. */
export function transportError(err: Error & { code?: string; level?: string }, where: string): DialError {
  const detail = err.code ? `${err.code}: ${err.message}` : err.message;
  return sshError('UNREACHABLE', `cannot reach ${where}: ${detail}`);
}
