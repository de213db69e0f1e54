// Fixed send and receive buffers for a listening TCP socket, inherited by the sockets it accepts:
// SO_SNDBUF and SO_RCVBUF at SOL_SOCKET (same names on Linux and macOS, other numbers).
//
// Why: our listeners take the connections that cross the tun. With the kernel's autotuning a bulk
// flow keeps up to several MB in flight, all of it queued in front of the tun (one FIFO) or its
// reader, so a new connection's SYN waited 15 ms behind a download (bench/vnet.ts "during a
// download"). A fixed buffer bounds what one flow has in flight: the receive buffer bounds the
// window we advertise to the client (uploads), the send buffer what we send unacknowledged
// (downloads). Set on the listener before connections arrive, it also sets the window scale.
import { darwin, linux } from './constants';
import * as libc from './libc';

export interface SockOpt {
  level: number;
  name: number;
  value: Buffer;
}

/** The setsockopt(2) calls (pure: unit-tested per platform). Linux doubles the value it is given. */
export function socketBufferOptions(platform: NodeJS.Platform, bytes: number): SockOpt[] {
  if (!Number.isInteger(bytes) || bytes < 4096 || bytes > 0x7fffffff)
    throw new RangeError(`socket buffer size must be an integer of at least 4096 bytes, got ${bytes}`);
  const c =
    platform === 'linux'
      ? { level: linux.SOL_SOCKET, snd: linux.SO_SNDBUF, rcv: linux.SO_RCVBUF }
      : platform === 'darwin'
        ? { level: darwin.SOL_SOCKET, snd: darwin.SO_SNDBUF, rcv: darwin.SO_RCVBUF }
        : null;
  if (!c) throw new Error(`socket buffer sizes are not supported on ${platform}`);
  const value = Buffer.alloc(4);
  value.writeInt32LE(bytes); // an int, in host order (every platform we support is little-endian)
  return [
    { level: c.level, name: c.rcv, value },
    { level: c.level, name: c.snd, value },
  ];
}

/** Gives socket `fd` fixed send and receive buffers of `bytes`. */
export function setSocketBuffers(fd: number, bytes: number): void {
  for (const o of socketBufferOptions(process.platform, bytes))
    libc.setsockopt(`socket buffers ${bytes}`, fd, o.level, o.name, o.value);
}
