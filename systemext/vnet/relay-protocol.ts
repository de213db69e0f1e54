// Messages between the engine's main thread and its relay worker (./relay-worker), and the shared
// byte counters. Pure: both threads load it.
import type { FramingKind } from '../tun/framing';
import type { NatInit } from './nat-view';

export interface RelayWorkerData {
  nat: NatInit;
  /** Float64 pairs per NAT entry: [2e] bytes from the client, [2e + 1] bytes to the client. */
  bytes: SharedArrayBuffer;
  /**
   * Int32 per NAT entry: the id of the flow whose connection the worker accepted there. The main
   * thread reads it when it needs to know (a handshake deadline, live flows): no message, no wake-up.
   */
  accepted: SharedArrayBuffer;
  /** Int32 per NAT entry: the flow whose SYN the worker may write (./syn-offer). */
  offers: SharedArrayBuffer;
  /** The tun's fd for the worker's SYN writes; absent = the main thread writes every SYN. */
  tun?: { fd: number; framing: FramingKind };
}

/** Main thread -> worker. `id` is the flow's id (Flows), never reused while the engine runs. */
export type ToRelay =
  | { t: 'listen'; host: string; family: 4 | 6 }
  /**
   * Connect to host:port for the flow on NAT entry `entry`, then wait for its accepted socket
   * (from the entry's fake source of address `family`).
   */
  | {
      t: 'dial';
      id: number;
      entry: number;
      family: 4 | 6;
      host: string;
      port: number;
      timeoutMs: number;
      /** The client's SYN as read from the tun, when offered: the worker rewrites and writes it on connect. */
      syn?: Uint8Array;
    }
  /** The flow is gone on the main thread: drop its dial or its sockets, whatever state they are in. */
  | { t: 'abort'; id: number };

/** Worker -> main thread. */
export type FromRelay =
  /** `fd` lets the main thread bind the listening socket to the tun (ffi stays on the main thread). */
  | { t: 'listening'; family: 4 | 6; port: number; fd: number }
  | { t: 'listen-failed'; family: 4 | 6; message: string }
  /**
   * The dial's outcome; after an abort nothing more is sent for the id. `opened`: the worker took the
   * offer, opened the NAT entry and wrote the SYN (./syn-offer).
   */
  | { t: 'dialed'; id: number; error?: string; code?: string; opened?: boolean }
  /** Both sockets of an accepted flow are gone (not sent after an abort). */
  | { t: 'closed'; id: number; fromClient: number; toClient: number; error?: string };

/** The shared memory of a relay worker for a table of `capacity` entries. */
export function relayShared(capacity: number): Omit<RelayWorkerData, 'nat' | 'tun'> {
  return {
    bytes: new SharedArrayBuffer(capacity * 2 * Float64Array.BYTES_PER_ELEMENT),
    accepted: new SharedArrayBuffer(capacity * Int32Array.BYTES_PER_ELEMENT),
    offers: new SharedArrayBuffer(capacity * Int32Array.BYTES_PER_ELEMENT),
  };
}
