// The only place that talks to ffi-rs. Loaded lazily, so importing the pure encoders elsewhere in
// native-bindings never needs the native library. Only set-up and tear-down calls go through here,
// never per-packet I/O (that uses fs.readSync/fs.writeSync on the fd).
import { syscallError } from './errors';
import { variadicLayout, type ArgKind } from './variadic';

type Ffi = typeof import('ffi-rs');
let ffi: Ffi | null = null;

function load(): Ffi {
  if (ffi) return ffi;
  // A lazy require (not an import) so that merely importing this module does not dlopen ffi-rs.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('ffi-rs') as Ffi;
  // An empty path opens the main program, whose namespace includes libc on Linux and libSystem on macOS.
  mod.open({ library: 'libc', path: '' });
  ffi = mod;
  return mod;
}

function dataType(f: Ffi, k: ArgKind) {
  switch (k) {
    case 'i32':
      return f.DataType.I32;
    case 'u64':
      return f.DataType.U64;
    case 'i64':
      return f.DataType.I64;
    case 'ptr':
      return f.DataType.U8Array; // a Buffer, passed by pointer and written in place
  }
}

/**
 * Calls a libc function returning int; throws a SyscallError (labelled `what`) when it returns -1.
 * Buffers passed as 'ptr' are read and written in place.
 */
export function callInt(
  what: string,
  fn: string,
  kinds: readonly ArgKind[],
  values: readonly unknown[],
): number {
  const f = load();
  const r = f.load({
    library: 'libc',
    funcName: fn,
    retType: f.DataType.I32,
    paramsType: kinds.map((k) => dataType(f, k)),
    paramsValue: [...values],
    errno: true as const,
  });
  if (r.value === -1) throw syscallError(what, r.errnoCode, r.errnoMessage);
  return r.value;
}

/** Calls a variadic libc function correctly on every ABI (see ./variadic). */
export function callVariadic(
  what: string,
  fn: string,
  fixed: readonly ArgKind[],
  fixedValues: readonly unknown[],
  variadic: readonly ArgKind[],
  variadicValues: readonly unknown[],
): number {
  const layout = variadicLayout({ platform: process.platform, arch: process.arch }, fixed, variadic);
  return callInt(what, fn, layout.kinds, layout.values(fixedValues, variadicValues));
}

/** ioctl(fd, request, ptr): variadic in its third argument on every platform. */
export function ioctl(what: string, fd: number, request: number, arg: Buffer): number {
  return callVariadic(what, 'ioctl', ['i32', 'u64'], [fd, request], ['ptr'], [arg]);
}

/** fcntl(fd, cmd, intArg): variadic in its third argument. */
export function fcntl(what: string, fd: number, cmd: number, arg: number): number {
  return callVariadic(what, 'fcntl', ['i32', 'i32'], [fd, cmd], ['i64'], [arg]);
}

export function socket(what: string, domain: number, type: number, protocol: number): number {
  return callInt(what, 'socket', ['i32', 'i32', 'i32'], [domain, type, protocol]);
}

export function close(fd: number): void {
  callInt(`close(${fd})`, 'close', ['i32'], [fd]);
}

export function shutdown(what: string, fd: number, how: number): void {
  callInt(what, 'shutdown', ['i32', 'i32'], [fd, how]);
}

export function connect(what: string, fd: number, addr: Buffer): void {
  callInt(what, 'connect', ['i32', 'ptr', 'i32'], [fd, addr, addr.length]);
}

/** getsockopt into `out`; returns the length the kernel reported. */
export function getsockopt(what: string, fd: number, level: number, name: number, out: Buffer): number {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(out.length);
  callInt(what, 'getsockopt', ['i32', 'i32', 'i32', 'ptr', 'ptr'], [fd, level, name, out, len]);
  return len.readUInt32LE(0);
}

export function setsockopt(what: string, fd: number, level: number, name: number, value: Buffer): void {
  callInt(what, 'setsockopt', ['i32', 'i32', 'i32', 'ptr', 'i32'], [fd, level, name, value, value.length]);
}

export function send(what: string, fd: number, buf: Buffer, flags: number): number {
  return callInt(what, 'send', ['i32', 'ptr', 'u64', 'i32'], [fd, buf, buf.length, flags]);
}

export function recv(what: string, fd: number, buf: Buffer, flags: number): number {
  return callInt(what, 'recv', ['i32', 'ptr', 'u64', 'i32'], [fd, buf, buf.length, flags]);
}

/** socketpair(domain, type, protocol) → two fds. */
export function socketpair(what: string, domain: number, type: number, protocol: number): [number, number] {
  const fds = Buffer.alloc(8);
  callInt(what, 'socketpair', ['i32', 'i32', 'i32', 'ptr'], [domain, type, protocol, fds]);
  return [fds.readInt32LE(0), fds.readInt32LE(4)];
}

/** if_nametoindex(name): 0 when there is no such interface. */
export function ifNameToIndex(name: string): number {
  const f = load();
  const r = f.load({
    library: 'libc',
    funcName: 'if_nametoindex',
    retType: f.DataType.U32,
    paramsType: [f.DataType.String],
    paramsValue: [name],
    errno: true as const,
  });
  return r.value;
}
