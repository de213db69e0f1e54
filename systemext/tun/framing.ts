// How packets are framed on the device fd. Linux tun with IFF_NO_PI: bare IP packets. macOS utun:
// a 4-byte address-family header before each packet (see ./utun-framing.darwin).
import { writeSync, writevSync } from 'node:fs';
import { utunFraming } from './utun-framing.darwin';

export type FramingKind = 'none' | 'utun';

export interface Framing {
  /** Bytes before each IP packet on the fd. */
  readonly headerLen: number;
  /** Writes the header for `pkt` at `buf[off]`; false if `pkt` is neither IPv4 nor IPv6. */
  writeHeader(buf: Buffer, off: number, pkt: Buffer): boolean;
  /** The header to send before `pkt` (shared, do not modify), or null if not IPv4/IPv6. */
  header(pkt: Buffer): Buffer | null;
}

const EMPTY = Buffer.alloc(0);

const none: Framing = {
  headerLen: 0,
  writeHeader: () => true,
  header: () => EMPTY,
};

export function framingFor(kind: FramingKind): Framing {
  return kind === 'utun' ? utunFraming : none;
}

/**
 * Writes one IP packet to a device fd with its framing; returns why it failed, or null. Any thread
 * of the process may write (one write per packet: the kernel takes each whole or not at all).
 */
export function writeFramed(fd: number, framing: Framing, pkt: Buffer): string | null {
  try {
    if (framing.headerLen === 0) writeSync(fd, pkt);
    else {
      const h = framing.header(pkt);
      if (!h) return 'not an IPv4 or IPv6 packet';
      writevSync(fd, [h, pkt]);
    }
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
