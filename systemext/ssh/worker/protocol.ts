// Messages between the dialer's thread and a session worker (one worker per SSH session).
import type { MessagePort } from 'node:worker_threads';
import { DialError } from '../../vnet/dialer';
import { sshError } from '../errors';
import type { BastionSpec, SshDialErrorCode } from '../types';

export interface WorkerInit {
  spec: BastionSpec;
  /** The worker connects to the bastion itself… */
  tcp?: { host: string; port: number };
  /** …or runs over a stream the dialer's thread bridges (a jump's outer channel, a test relay). */
  sock?: MessagePort;
}

export interface WireError {
  code?: SshDialErrorCode;
  message: string;
}

export type ToWorker =
  | { t: 'signResult'; id: number; sig?: Uint8Array; err?: WireError }
  | { t: 'abort'; err: WireError }
  | { t: 'open'; id: number; host: string; port: number; timeoutMs: number; data: MessagePort }
  | { t: 'cancelOpen'; id: number }
  | { t: 'close' };

export type FromWorker =
  | { t: 'sign'; id: number; data: Uint8Array }
  | { t: 'ready' }
  | { t: 'failed'; err: WireError }
  | { t: 'opened'; id: number }
  | { t: 'openFailed'; id: number; err: WireError }
  | { t: 'closed' }
  | { t: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string };

/** Errors cross threads as plain data; DialErrors keep their code. */
export function wire(err: unknown): WireError {
  if (err instanceof DialError) return { code: err.code as SshDialErrorCode, message: err.message };
  return { message: err instanceof Error ? err.message : String(err) };
}

export function unwire(e: WireError): Error {
  return e.code ? sshError(e.code, e.message) : new Error(e.message);
}
