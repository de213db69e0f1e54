// The Objective-C runtime through ffi-rs: just enough to send a few messages (SMAppService).
// objc_msgSend is a trampoline that must be called with the exact C prototype of the method it
// reaches (on arm64 it is NOT variadic), so every send declares (id self, SEL _cmd, ...args) → ret
// explicitly. Object pointers travel as 64-bit integers (BigInt, so tagged pointers keep their high
// bits): an `id` and a `uint64_t` are passed alike in x0..x7 / rdi.. on both ABIs.
// Loaded lazily and only on macOS; the declarations are pure and unit-tested on any platform.

export type ObjcType = 'id' | 'sel' | 'bool' | 'long' | 'out-ptr' | 'cstring';

export interface MsgSendDecl {
  /** What objc_msgSend returns for this method. */
  ret: ObjcType;
  /** self, _cmd, then the method's arguments. */
  params: ObjcType[];
}

export function msgSendDecl(ret: ObjcType, args: readonly ObjcType[]): MsgSendDecl {
  if (ret === 'out-ptr') throw new Error('an out-pointer is an argument, not a result');
  return { ret, params: ['id', 'sel', ...args] };
}

/** BOOL: a signed char on x86_64, a C bool on arm64; only the low byte is defined in the register. */
export function boolFromRegister(v: number): boolean {
  return (v & 0xff) !== 0;
}

/** An NSError** the callee fills: 8 zero bytes in, the object pointer (or 0) out. */
export function newOutPointer(): Buffer {
  return Buffer.alloc(8);
}

export function readOutPointer(buf: Buffer): bigint {
  return buf.readBigInt64LE(0);
}

type Ffi = typeof import('ffi-rs');

export const LIBOBJC = '/usr/lib/libobjc.A.dylib';

export class ObjcRuntime {
  private readonly ffi: Ffi;

  /** Opens libobjc and the given frameworks (their classes register with the runtime on load). */
  constructor(frameworks: readonly string[]) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    this.ffi = require('ffi-rs') as Ffi;
    this.ffi.open({ library: 'objc', path: LIBOBJC });
    for (const f of frameworks) {
      this.ffi.open({ library: f, path: `/System/Library/Frameworks/${f}.framework/${f}` });
    }
  }

  cls(name: string): bigint {
    const c = this.call('objc_getClass', 'id', ['cstring'], [name]) as bigint;
    if (c === 0n) throw new Error(`Objective-C class ${name} not found`);
    return c;
  }

  sel(name: string): bigint {
    return this.call('sel_registerName', 'sel', ['cstring'], [name]) as bigint;
  }

  /** [self sel args...] with the declared prototype. */
  send(
    ret: ObjcType,
    self: bigint,
    selector: string,
    args: ObjcType[] = [],
    values: unknown[] = [],
  ): unknown {
    const d = msgSendDecl(ret, args);
    return this.call('objc_msgSend', d.ret, d.params, [self, this.sel(selector), ...values]);
  }

  /** An NSString's (or NSError's localizedDescription's) UTF-8 text. */
  string(nsString: bigint): string {
    if (nsString === 0n) return '';
    return this.send('cstring', nsString, 'UTF8String') as string;
  }

  private call(fn: string, ret: ObjcType, params: ObjcType[], values: unknown[]): unknown {
    const f = this.ffi;
    const t = (k: ObjcType) => {
      switch (k) {
        case 'id':
        case 'sel':
        case 'long':
          return f.DataType.BigInt;
        case 'bool':
          return f.DataType.I32;
        case 'out-ptr':
          return f.DataType.U8Array;
        case 'cstring':
          return f.DataType.String;
      }
    };
    const r = f.load({
      library: 'objc',
      funcName: fn,
      retType: t(ret),
      paramsType: params.map(t),
      paramsValue: values,
    } as Parameters<Ffi['load']>[0]);
    return ret === 'bool' ? boolFromRegister(r as number) : r;
  }
}
