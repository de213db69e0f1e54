// Errors from failed system calls: name the call (and what it was for) and the errno in words and
// as its symbolic code, e.g. "TUNSETIFF kvn%d: Operation not permitted (EPERM)".
import { getSystemErrorMap } from 'node:util';

export class SyscallError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
    readonly code: string,
    text: string,
  ) {
    super(`${call}: ${text} (${code})`);
    this.name = 'SyscallError';
  }
}

/** Builds the error for a positive errno value, using Node's errno table for the symbolic name. */
export function syscallError(call: string, errno: number, osMessage?: string): SyscallError {
  const known = getSystemErrorMap().get(-errno);
  const code = known?.[0] ?? `errno ${errno}`;
  // ffi-rs reports "Operation not permitted (os error 1)": keep the words, drop the suffix.
  const fromOs = osMessage?.replace(/\s*\(os error \d+\)\s*$/, '');
  const text = fromOs || (known ? known[1][0].toUpperCase() + known[1].slice(1) : `error ${errno}`);
  return new SyscallError(call, errno, code, text);
}
