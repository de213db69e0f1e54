// The reader thread of a WorkerTun. It blocks in fs.readSync on the device fd (a blocking read in a
// thread of its own: no libuv threadpool slot is pinned and no FFI call is made per packet), reads
// each packet straight into the shared ring, runs the optional fast path on it, and either publishes
// it to the main thread or writes the fast path's reply back to the device from here.
import { readSync, writeSync, writevSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { DROP, loadFastPath, PASS, REPLY, type FastPathFn, type FastPathSpec } from './fast-path';
import { framingFor, type FramingKind } from './framing';
import { isPriority, SlowPathBudget } from './priority';
import { CTL, RingProducer, RUNNING, type RingShared } from './ring';

export interface TunWorkerData {
  fd: number;
  name: string;
  mtu: number;
  framing: FramingKind;
  ring: RingShared;
  fastPath?: FastPathSpec;
}

/** Messages to the main thread. */
export type TunWorkerMessage =
  { type: 'ready' } | { type: 'warning'; message: string } | { type: 'fatal'; message: string };

function post(msg: TunWorkerMessage): void {
  parentPort!.postMessage(msg);
}

/** Non-priority slow-path packets may fill the ring up to this fraction (a quarter); SYNs and DNS all of it. */
const LOW_PRIORITY_SHARE = 0.25;
/** ...and at most this many a second (burst: BUDGET_BURST) reach the main thread. */
const BUDGET_PER_SECOND = 2000;
const BUDGET_BURST = 256;

function run(data: TunWorkerData): void {
  const { fd, name, mtu } = data;
  const framing = framingFor(data.framing);
  const ring = new RingProducer(data.ring);
  const ringBuf = ring.bytes;
  const lowLimit = ring.bytes.length * LOW_PRIORITY_SHARE;
  const budget = new SlowPathBudget(BUDGET_PER_SECOND, BUDGET_BURST);
  const fast: FastPathFn | null = data.fastPath ? loadFastPath(data.fastPath) : null;
  const hdr = framing.headerLen;
  // One byte more than the largest acceptable frame: a longer packet reads back truncated to this
  // length (tun and utun both truncate, losing the rest), so `n > hdr + mtu` reliably flags it.
  const readLen = hdr + mtu + 1;
  // With a fast path the reader never stops reading: established flows must not wait behind a full
  // ring. When the ring has no room, a packet is read here, and only passed on if it fits.
  const scratch = Buffer.alloc(readLen);
  let warned = false;

  const writeOut = (pkt: Buffer, buf: Buffer, at: number) => {
    try {
      if (hdr === 0) writeSync(fd, pkt);
      else if (at >= 0 && framing.writeHeader(buf, at, pkt)) writeSync(fd, buf, at, hdr + pkt.length);
      else {
        const h = framing.header(pkt);
        if (h) writevSync(fd, [h, pkt]);
        else ring.count(CTL.FP_WRITE_ERRORS);
      }
    } catch {
      ring.count(CTL.FP_WRITE_ERRORS); // e.g. the kernel refused a malformed reply; keep going
    }
  };

  /** Hands a packet to the main thread if its class still has room in the ring, else drops it. */
  const pass = (pkt: Buffer, pos: number): void => {
    const priority = isPriority(pkt);
    if (!priority && !budget.take(Date.now())) {
      ring.count(CTL.RING_DROPS);
      ring.count(CTL.BUDGET_DROPS);
      return;
    }
    if (pos < 0) {
      pos = ring.reserve(pkt.length);
      if (pos >= 0) pkt.copy(ringBuf, pos + 4);
    }
    if (pos >= 0 && (priority || ring.usedAfter(pkt.length) <= lowLimit)) {
      if (ring.commit(pos, pkt.length)) ring.wake();
      return;
    }
    ring.count(CTL.RING_DROPS);
    if (priority) ring.count(CTL.PRIORITY_DROPS);
  };

  post({ type: 'ready' });
  while (ring.load(CTL.STATE) === RUNNING) {
    const pos = ring.reserve(readLen);
    if (pos < 0 && fast === null) {
      // No fast path: nothing can be gained by reading on, so apply backpressure (the kernel
      // queues, then drops, packets meanwhile).
      ring.waitForSpace(1000);
      continue;
    }
    const buf = pos >= 0 ? ringBuf : scratch;
    // The frame header (if any) overlaps the record's length word; commit() overwrites it.
    const at = pos >= 0 ? pos + 4 - hdr : 0;
    let n: number;
    try {
      n = readSync(fd, buf, at, readLen, null);
    } catch (err) {
      if (ring.load(CTL.STATE) !== RUNNING) break;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EINTR' || code === 'EAGAIN') continue;
      post({
        type: 'fatal',
        message: `tun ${name}: read failed (${(err as Error).message}); was the interface deleted?`,
      });
      return;
    }
    if (ring.load(CTL.STATE) !== RUNNING) break;
    if (n === 0) {
      post({ type: 'fatal', message: `tun ${name}: the device was closed under us (read returned 0)` });
      return;
    }
    const len = n - hdr;
    if (len <= 0 || len > mtu) {
      ring.count(CTL.OVERSIZE);
      continue;
    }
    const pkt = buf.subarray(at + hdr, at + hdr + len);
    if (fast === null) {
      if (ring.commit(pos, len)) ring.wake(); // pos >= 0 here: no fast path waits for space
      continue;
    }
    let verdict;
    try {
      verdict = fast(pkt);
    } catch (err) {
      ring.count(CTL.FP_ERRORS);
      if (!warned)
        post({ type: 'warning', message: `tun ${name}: fast path threw, packet dropped: ${String(err)}` });
      warned = true;
      continue;
    }
    if (verdict === PASS) {
      pass(pkt, pos);
    } else if (verdict === REPLY) {
      ring.count(CTL.FP_REPLIES);
      writeOut(pkt, buf, at);
    } else if (verdict === DROP) {
      ring.count(CTL.FP_DROPS);
    } else if (Buffer.isBuffer(verdict) && verdict.length > 0 && verdict.length <= mtu) {
      ring.count(CTL.FP_REPLIES);
      writeOut(verdict, buf, -1);
    } else {
      ring.count(CTL.FP_ERRORS);
    }
  }
}

if (parentPort) {
  try {
    run(workerData as TunWorkerData);
  } catch (err) {
    post({ type: 'fatal', message: (err as Error).message });
  }
}
