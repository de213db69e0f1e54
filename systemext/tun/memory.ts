// An in-memory TunDevice pair, like wireguard-go's tuntest: what one end writes the other end
// reads. The packet engine takes one end; a test plays the kernel on the other. No root needed.
// An optional fast path (./fast-path) runs on packets arriving at the engine side, with the same
// verdicts as in the real device's reader thread, so engine tests see identical behaviour.
import { TunClosedError, type TunDevice } from './device';
import { loadFastPath, PASS, REPLY, type FastPathFn, type FastPathSpec } from './fast-path';

class MemoryTun implements TunDevice {
  peer!: MemoryTun;
  private readonly queue: Buffer[] = [];
  private waiter: { resolve: (pkts: Buffer[]) => void; reject: (err: Error) => void } | null = null;
  private closed = false;
  /** Runs on each packet delivered to this end (the engine side) before read() sees it. */
  fastPath: FastPathFn | null = null;

  constructor(
    readonly name: string,
    readonly mtu: number,
  ) {}

  read(): Promise<Buffer[]> {
    if (this.closed) return Promise.reject(new TunClosedError(this.name));
    if (this.queue.length > 0) return Promise.resolve(this.queue.splice(0));
    if (this.waiter) return Promise.reject(new Error(`${this.name}: read() is already pending`));
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
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
    if (this.fastPath) {
      let verdict;
      try {
        verdict = this.fastPath(pkt);
      } catch {
        return; // like the reader thread: a throwing fast path drops the packet
      }
      if (verdict === REPLY) return this.writeBack(pkt);
      if (Buffer.isBuffer(verdict)) return this.writeBack(Buffer.from(verdict));
      if (verdict !== PASS) return; // DROP, or an invalid verdict
    }
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve([pkt]);
    } else {
      this.queue.push(pkt);
    }
  }

  /** A fast-path reply goes straight back to the peer, as the reader thread writes it to the device. */
  private writeBack(pkt: Buffer): void {
    if (pkt.length === 0 || pkt.length > this.mtu || this.peer.closed) return;
    this.peer.deliver(pkt);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(new TunClosedError(this.name));
  }
}

/**
 * Two connected in-memory devices: `[engineSide, kernelSide]` by convention. `fastPath` (a module spec
 * as for openTun, loaded in this thread, or the function itself) runs on packets the kernel side
 * writes, before the engine side's read() sees them.
 */
export function createMemoryTunPair(
  mtu = 1500,
  names: [string, string] = ['mem0', 'mem1'],
  fastPath?: FastPathSpec | FastPathFn,
): [TunDevice, TunDevice] {
  const a = new MemoryTun(names[0], mtu);
  const b = new MemoryTun(names[1], mtu);
  a.peer = b;
  b.peer = a;
  if (fastPath) a.fastPath = typeof fastPath === 'function' ? fastPath : loadFastPath(fastPath);
  return [a, b];
}
