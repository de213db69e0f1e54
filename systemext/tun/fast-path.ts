// The fast-path hook: a function run on every packet the tun delivers, inside the reader thread (or,
// for the in-memory pair, synchronously on delivery), before the packet reaches read(). It lets
// established flows be rewritten and sent straight back to the device without a thread hop.
//
// A fast-path module exports `createFastPath(init)`, called once with the `init` value given to
// openTun (it may contain SharedArrayBuffers shared with the main thread, e.g. a NAT table), and
// returning the per-packet function. The function returns a verdict:
//   PASS  (0) hand the packet to read() (the slow path, on the main thread)
//   REPLY (1) the function rewrote `pkt` in place (same length): write it back to the device
//   DROP  (2) discard it
//   a Buffer  write this packet (any length up to the MTU) back to the device instead
// `pkt` is only valid during the call: copy what must outlive it. A throw drops the packet.

import { DROP, PASS, REPLY } from './verdicts';

export { DROP, PASS, REPLY };

export type FastPathVerdict = typeof PASS | typeof REPLY | typeof DROP | Buffer;
export type FastPathFn = (pkt: Buffer) => FastPathVerdict;

export interface FastPathSpec {
  /** Absolute path of the module (a .ts file works when running under tsx, a .js file when bundled). */
  module: string;
  /** Passed to createFastPath; must be structured-cloneable (SharedArrayBuffers stay shared). */
  init?: unknown;
}

export interface FastPathModule {
  createFastPath(init: unknown): FastPathFn;
}

// In a webpack bundle `require` is webpack's own and cannot load a file known only at run time;
// `__non_webpack_require__` is Node's. Under tsx there is no bundle and plain `require` is Node's.
declare const __non_webpack_require__: NodeJS.Require | undefined;
const nodeRequire: NodeJS.Require =
  typeof __non_webpack_require__ === 'function' ? __non_webpack_require__ : require;

/** Loads a fast-path module and creates its function (in whichever thread calls this). */
export function loadFastPath(spec: FastPathSpec): FastPathFn {
  const mod = nodeRequire(spec.module) as Partial<FastPathModule>;
  if (typeof mod.createFastPath !== 'function') {
    throw new Error(`fast path module ${spec.module} does not export createFastPath(init)`);
  }
  const fn = mod.createFastPath(spec.init);
  if (typeof fn !== 'function') throw new Error(`createFastPath of ${spec.module} did not return a function`);
  return fn;
}
