// A TunDevice over a packet fd, with all reads done by a worker thread (./worker) and writes done
// directly on the calling thread. Platform differences are only the framing and how to wake the
// blocked reader at close, both passed in.
//
// Why main-thread writes: a tun/utun write never blocks for long (the kernel takes the packet into
// its stack synchronously or drops it), and writing here avoids a copy and a thread hop per packet;
// bench/tun-echo.ts measures it. Reads must not happen here: a blocking read would freeze the event
// loop, and async fs.read would pin a libuv threadpool slot per pending read.
import { closeSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { TunClosedError, type TunDevice } from './device';
import type { FastPathSpec } from './fast-path';
import { framingFor, writeFramed, type Framing, type FramingKind } from './framing';
import { CLOSING, createRing, CTL, RingConsumer } from './ring';
import type { TunWorkerData, TunWorkerMessage } from './worker';

export interface TunStats {
  /** Packets handed to read(). */
  passed: number;
  /** Packets longer than the MTU (or empty) that were dropped on read. */
  oversize: number;
  fastPathReplies: number;
  fastPathDrops: number;
  /** Fast-path throws and invalid verdicts (the packet was dropped). */
  fastPathErrors: number;
  /** Slow-path packets dropped because the ring to the main thread had no room for their class. */
  ringDrops: number;
  /** ...of which priority packets (TCP SYN, DNS): these only drop when the whole ring is full. */
  priorityDrops: number;
  /** ...of which other packets over the reader's budget (2000 a second, e.g. a UDP flood). */
  budgetDrops: number;
  /** Writes that failed or were refused (bad length, not IPv4/IPv6 on utun, kernel error). */
  writeErrors: number;
  lastWriteError?: string;
}

export interface WorkerTunOptions {
  fd: number;
  name: string;
  mtu: number;
  framing: FramingKind;
  /** Makes the worker's blocked read() return (called once at close). */
  interrupt: () => void;
  fastPath?: FastPathSpec;
  /** Ring size in bytes (power of two); default 4 MiB. */
  ringBytes?: number;
}

const CLOSE_TIMEOUT_MS = 5000;
const START_TIMEOUT_MS = 30_000;

export class WorkerTun implements TunDevice {
  readonly name: string;
  readonly mtu: number;
  private readonly fd: number;
  private readonly framing: Framing;
  private readonly framingKind: FramingKind;
  private readonly ring: RingConsumer;
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private readonly interrupt: () => void;
  private pending: { resolve: (p: Buffer[]) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private closing: Promise<void> | null = null;
  private writeErrors = 0;
  private sleeps = 0;
  private lastWriteError: string | undefined;
  private ready!: Promise<void>;

  private constructor(opts: WorkerTunOptions) {
    this.name = opts.name;
    this.mtu = opts.mtu;
    this.fd = opts.fd;
    this.interrupt = opts.interrupt;
    this.framing = framingFor(opts.framing);
    this.framingKind = opts.framing;
    const shared = createRing(opts.ringBytes ?? 4 * 1024 * 1024);
    this.ring = new RingConsumer(shared);
    const data: TunWorkerData = {
      fd: opts.fd,
      name: opts.name,
      mtu: opts.mtu,
      framing: opts.framing,
      ring: shared,
      fastPath: opts.fastPath,
    };
    this.worker = new Worker(workerEntry(), { workerData: data, ...workerLoader() });
    this.worker.unref(); // only a pending read() keeps the process alive, like a socket
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`tun ${this.name}: reader thread did not start`)),
        START_TIMEOUT_MS,
      );
      this.worker.on('message', (m: TunWorkerMessage) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else if (m.type === 'warning') console.warn(m.message);
        else if (m.type === 'fatal') {
          clearTimeout(timer);
          this.fail(new Error(m.message));
          reject(this.failure);
        }
      });
      this.worker.on('error', (err) => {
        clearTimeout(timer);
        this.fail(err);
        reject(err);
      });
      this.worker.on('exit', () => {
        clearTimeout(timer);
        if (!this.closing) this.fail(new Error(`tun ${this.name}: reader thread exited`));
        reject(this.failure ?? new Error(`tun ${this.name}: reader thread exited`));
      });
    });
  }

  /** Starts the reader thread on `fd` and resolves once it runs (its fast path loaded). Owns the fd. */
  static async start(opts: WorkerTunOptions): Promise<WorkerTun> {
    const tun = new WorkerTun(opts);
    try {
      await tun.ready;
    } catch (err) {
      await tun.close().catch(() => undefined);
      throw err;
    }
    return tun;
  }

  read(): Promise<Buffer[]> {
    if (this.closing) return Promise.reject(new TunClosedError(this.name));
    if (this.pending) return Promise.reject(new Error(`${this.name}: read() is already pending`));
    const now = this.take();
    if (now) return Promise.resolve(now);
    if (this.failure) return Promise.reject(this.failure);
    this.worker.ref(); // the sleep below does not keep the event loop alive; a pending read does
    const p = new Promise<Buffer[]>((resolve, reject) => (this.pending = { resolve, reject }));
    this.sleep();
    return p;
  }

  /**
   * Packets available now, or null once armWake() says none are coming before a wake. Loops while
   * armWake() sees data that drain() then does not yield, so an empty batch is never returned.
   */
  private take(): Buffer[] | null {
    for (;;) {
      const pkts = this.ring.drain();
      if (pkts.length > 0) return pkts;
      if (this.ring.armWake()) return null;
    }
  }

  write(packets: Buffer | readonly Buffer[]): void {
    if (this.closing) throw new TunClosedError(this.name);
    const list = Buffer.isBuffer(packets) ? [packets] : packets;
    for (const p of list) {
      if (p.length === 0 || p.length > this.mtu) {
        this.writeFailed(`packet of ${p.length} bytes does not fit MTU ${this.mtu}`);
        continue;
      }
      // One refused packet (e.g. malformed) must not lose the rest of the batch.
      const failed = writeFramed(this.fd, this.framing, p);
      if (failed) this.writeFailed(failed);
    }
  }

  /** The fd and framing for another thread's writes (the relay worker's SYNs); valid until close(). */
  sharedWriter(): { fd: number; framing: FramingKind } {
    return { fd: this.fd, framing: this.framingKind };
  }

  stats(): TunStats {
    const c = this.ring.ctl;
    return {
      passed: Atomics.load(c, CTL.PASSED),
      oversize: Atomics.load(c, CTL.OVERSIZE),
      fastPathReplies: Atomics.load(c, CTL.FP_REPLIES),
      fastPathDrops: Atomics.load(c, CTL.FP_DROPS),
      fastPathErrors: Atomics.load(c, CTL.FP_ERRORS),
      ringDrops: Atomics.load(c, CTL.RING_DROPS),
      priorityDrops: Atomics.load(c, CTL.PRIORITY_DROPS),
      budgetDrops: Atomics.load(c, CTL.BUDGET_DROPS),
      writeErrors: this.writeErrors + Atomics.load(c, CTL.FP_WRITE_ERRORS),
      lastWriteError: this.lastWriteError,
    };
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.ring.setState(CLOSING);
    let interruptError: unknown = null;
    try {
      this.interrupt();
    } catch (err) {
      interruptError = err;
    }
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), CLOSE_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    this.rejectPending(new TunClosedError(this.name));
    if (!stopped) {
      // The thread is stuck in read(): keep the fd open (closing it under a blocked read is unsafe
      // and would not wake it) and let the error say why.
      await this.worker.terminate().catch(() => undefined);
      throw new Error(
        `tun ${this.name}: reader thread did not stop${interruptError ? `: ${String(interruptError)}` : ''}`,
      );
    }
    closeSync(this.fd);
  }

  /** Waits for the reader's wake-up (armWake() returned true); `sleeps` tells a stale one apart. */
  private sleep(): void {
    const n = ++this.sleeps;
    void this.ring.sleep().then(() => {
      if (n === this.sleeps) this.wake();
    });
  }

  private wake(): void {
    if (!this.pending || this.closing) return; // a stale wake for packets already taken
    const pkts = this.take();
    if (pkts) this.settle(pkts);
    else this.sleep();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    if (!this.pending || this.closing) return;
    const pkts = this.ring.drain();
    if (pkts.length > 0) this.settle(pkts);
    else this.rejectPending(this.failure);
  }

  private rejectPending(err: Error): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    this.worker.unref();
    p.reject(err);
  }

  private settle(pkts: Buffer[]): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    this.worker.unref();
    p.resolve(pkts);
  }

  private writeFailed(reason: string): void {
    this.writeErrors++;
    this.lastWriteError = reason;
  }
}

/** The worker script next to this file: worker.ts under tsx, worker.js when bundled/compiled. */
function workerEntry(): string {
  return join(__dirname, `worker${extname(__filename) || '.js'}`);
}

/**
 * Under tsx the worker must load TypeScript (its own file and a .ts fast-path module). On Node 20 the
 * ESM hooks of `--import tsx` do not apply to a worker's entry file (it fails with "Unknown file
 * extension .ts"), so drop an inherited `--import tsx` and register tsx's CommonJS hook with
 * `--require`, which does apply.
 */
export function workerLoader(): { execArgv?: string[] } {
  if (extname(__filename) !== '.ts') return {};
  const inherited: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (
      (a === '--import' || a === '--loader' || a === '--require' || a === '-r') &&
      /tsx/.test(argv[i + 1] ?? '')
    )
      i++;
    else if (!/^--(import|loader|require)=.*tsx/.test(a)) inherited.push(a);
  }
  return { execArgv: [...inherited, '--require', require.resolve('tsx/cjs')] };
}
