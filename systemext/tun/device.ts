// The one interface the packet engine sees for a TUN device, whatever the platform.
// Packets are raw IP packets (IPv4 or IPv6) with no link or address-family header: the macOS
// utun framing is added and stripped inside its implementation and nowhere else.
import type { FramingKind } from './framing';

export interface TunDevice {
  /** Interface name chosen by the kernel or requested (e.g. `utun5`, `kvn0`). */
  readonly name: string;
  /** MTU the device was configured for; packets longer than this are never delivered or accepted. */
  readonly mtu: number;
  /**
   * Waits for packets from the kernel and returns those available, in arrival order: always at
   * least one. Rejects with TunClosedError once the device is closed (closing is explicit: an empty
   * batch never means "closed"), and with another error if the device failed.
   */
  read(): Promise<Buffer[]>;
  /**
   * Queues packets for the kernel, in order. Never blocks the event loop. The buffers may be
   * reused by the caller once this returns. Throws TunClosedError after close().
   */
  write(packets: Buffer | readonly Buffer[]): void;
  /**
   * Optional: the device fd and its framing, for another thread of this process that writes packets
   * itself (the relay worker writes its flows' SYNs). Valid until close(): that thread must stop
   * first. Devices without an fd (the in-memory pair) leave it out.
   */
  sharedWriter?(): { fd: number; framing: FramingKind };
  /** Stops I/O, unblocks pending reads (they reject with TunClosedError), releases the fd. Idempotent. */
  close(): Promise<void>;
}

export class TunClosedError extends Error {
  constructor(name: string) {
    super(`tun device ${name} is closed`);
    this.name = 'TunClosedError';
  }
}
