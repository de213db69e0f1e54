// An in-memory TunDevice pair, like wireguard-go's tuntest: what one end writes the other end
// reads. The packet engine takes one end; a test plays the kernel on the other. No root needed.
import { TunClosedError, type TunDevice } from './device';

class MemoryTun implements TunDevice {
  peer!: MemoryTun;
  private readonly queue: Buffer[] = [];
  private waiter: ((pkts: Buffer[]) => void) | null = null;
  private closed = false;

  constructor(
    readonly name: string,
    readonly mtu: number,
  ) {}

  read(): Promise<Buffer[]> {
    if (this.queue.length > 0) return Promise.resolve(this.queue.splice(0));
    if (this.closed) return Promise.resolve([]);
    if (this.waiter) return Promise.reject(new Error(`${this.name}: read() is already pending`));
    return new Promise((resolve) => (this.waiter = resolve));
  }

  write(packets: Buffer | readonly Buffer[]): void {
    if (this.closed) throw new TunClosedError(this.name);
    const list = Buffer.isBuffer(packets) ? [packets] : packets;
    for (const p of list) {
      // Like a real device: oversize packets are dropped, and the caller may reuse its buffer.
      if (p.length === 0 || p.length > this.mtu) continue;
      this.peer.deliver(Buffer.from(p));
    }
  }

  private deliver(pkt: Buffer): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w([pkt]);
    } else {
      this.queue.push(pkt);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    const w = this.waiter;
    this.waiter = null;
    w?.([]);
  }
}

/** Two connected in-memory devices: `[engineSide, kernelSide]` by convention. */
export function createMemoryTunPair(
  mtu = 1500,
  names: [string, string] = ['mem0', 'mem1'],
): [TunDevice, TunDevice] {
  const a = new MemoryTun(names[0], mtu);
  const b = new MemoryTun(names[1], mtu);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
