// A single-producer, single-consumer ring of packets in SharedArrayBuffers, between the reader
// thread (producer) and the main thread (consumer). The reader reads straight into the ring, so a
// packet is copied once across threads, and the main thread takes everything available in one
// go: batching falls out of it without any per-packet message.
//
// Layout: `data` holds records [u32 length][payload][pad to 4]; a length of WRAP means "skip to the
// start". `ctl` holds free-running byte counters HEAD (consumer) and TAIL (producer), modulo 2^32,
// with capacity a power of two so `counter & mask` is the offset. A record never straddles the end.
// Waking: the consumer sets CONSUMER_WAITING before sleeping and sleeps with Atomics.waitAsync on
// WAKE_SEQ; the producer clears the flag, bumps WAKE_SEQ and notifies. On the 2-core test bed that
// wakes an idle main thread in ~60 µs (round trip), against ~100 µs for a worker postMessage, which
// also serializes a message per wake. The producer waits for space with Atomics.wait on HEAD.

export const CTL = {
  HEAD: 0,
  TAIL: 1,
  CONSUMER_WAITING: 2,
  PRODUCER_WAITING: 3,
  /** 0 running, 1 closing */
  STATE: 4,
  // statistics, written by the producer
  PASSED: 5,
  OVERSIZE: 6,
  FP_REPLIES: 7,
  FP_DROPS: 8,
  FP_ERRORS: 9,
  FP_WRITE_ERRORS: 10,
  /** Bumped by the producer for each wake; the consumer's waitAsync watches it. */
  WAKE_SEQ: 11,
  /** Slow-path packets the reader dropped because the ring had no room for their class. */
  RING_DROPS: 12,
  /** ...of which priority packets (TCP SYN, DNS). */
  PRIORITY_DROPS: 13,
  /** ...of which other packets over the reader's slow-path budget (SlowPathBudget). */
  BUDGET_DROPS: 14,
} as const;
const CTL_SLOTS = 16;
const WRAP = 0xffffffff;

export const RUNNING = 0;
export const CLOSING = 1;

export interface RingShared {
  ctl: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

export function createRing(capacity: number): RingShared {
  if (capacity < 4096 || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`ring capacity must be a power of two >= 4096, got ${capacity}`);
  }
  return { ctl: new SharedArrayBuffer(CTL_SLOTS * 4), data: new SharedArrayBuffer(capacity) };
}

function recordSize(len: number): number {
  return (4 + len + 3) & ~3;
}

class RingView {
  readonly ctl: Int32Array;
  readonly bytes: Buffer;
  protected readonly words: Uint32Array;
  protected readonly cap: number;
  protected readonly mask: number;

  constructor(shared: RingShared) {
    this.ctl = new Int32Array(shared.ctl);
    this.bytes = Buffer.from(shared.data);
    this.words = new Uint32Array(shared.data);
    this.cap = shared.data.byteLength;
    this.mask = this.cap - 1;
  }

  load(slot: number): number {
    return Atomics.load(this.ctl, slot);
  }
}

export class RingProducer extends RingView {
  /** Bytes to skip to the start (the wrap) before the reserved record; published by commit(). */
  private skip = 0;
  /** HEAD as reserve() last saw it: waitForSpace() waits for it to move. */
  private seenHead = 0;

  /**
   * Offset of a record with room for `maxLen` payload bytes at the tail (payload at offset + 4), or
   * -1 when the ring is too full. Call commit() to publish it, or nothing to drop it. Nothing is
   * visible to the consumer before commit(), not even the wrap marker.
   */
  reserve(maxLen: number): number {
    const need = recordSize(maxLen);
    if (need > this.cap / 2) throw new RangeError(`record of ${maxLen} bytes is too large for the ring`);
    const tail = Atomics.load(this.ctl, CTL.TAIL) >>> 0;
    const head = Atomics.load(this.ctl, CTL.HEAD) >>> 0;
    this.seenHead = head;
    const used = (tail - head) >>> 0;
    const pos = tail & this.mask;
    const toEnd = this.cap - pos;
    this.skip = 0;
    if (toEnd < need) {
      if (this.cap - used < toEnd + need) return -1;
      this.words[pos >> 2] = WRAP;
      this.skip = toEnd;
      return 0;
    }
    return this.cap - used < need ? -1 : pos;
  }

  /** Bytes the ring would hold once the reserved record is committed with `len` payload bytes. */
  usedAfter(len: number): number {
    const used = ((Atomics.load(this.ctl, CTL.TAIL) >>> 0) - (Atomics.load(this.ctl, CTL.HEAD) >>> 0)) >>> 0;
    return used + this.skip + recordSize(len);
  }

  /**
   * Publishes the record reserved at `pos` with `len` payload bytes (and the wrap before it, if any).
   * True if the consumer must be woken.
   */
  commit(pos: number, len: number): boolean {
    this.words[pos >> 2] = len;
    const tail = (Atomics.load(this.ctl, CTL.TAIL) + this.skip + recordSize(len)) | 0;
    this.skip = 0;
    Atomics.store(this.ctl, CTL.TAIL, tail);
    Atomics.add(this.ctl, CTL.PASSED, 1);
    return (
      Atomics.load(this.ctl, CTL.CONSUMER_WAITING) === 1 &&
      Atomics.compareExchange(this.ctl, CTL.CONSUMER_WAITING, 1, 0) === 1
    );
  }

  /** Wakes the consumer sleeping in sleep() (call when commit() returned true). */
  wake(): void {
    Atomics.add(this.ctl, CTL.WAKE_SEQ, 1);
    Atomics.notify(this.ctl, CTL.WAKE_SEQ);
  }

  /**
   * Blocks (this thread) until the consumer frees space after the last failed reserve(), or
   * `timeoutMs` passes. Waits on the HEAD that reserve() saw: if the consumer drained since (and
   * so did not see the flag), HEAD differs and the wait returns at once ('not-equal').
   */
  waitForSpace(timeoutMs: number): 'ok' | 'not-equal' | 'timed-out' {
    Atomics.store(this.ctl, CTL.PRODUCER_WAITING, 1);
    const r = Atomics.wait(this.ctl, CTL.HEAD, this.seenHead | 0, timeoutMs);
    Atomics.store(this.ctl, CTL.PRODUCER_WAITING, 0);
    return r;
  }

  count(slot: number): void {
    Atomics.add(this.ctl, slot, 1);
  }
}

export class RingConsumer extends RingView {
  /** All published packets, oldest first, as copies the caller owns; frees their ring space. */
  drain(): Buffer[] {
    let head = Atomics.load(this.ctl, CTL.HEAD) >>> 0;
    const tail = Atomics.load(this.ctl, CTL.TAIL) >>> 0;
    if (head === tail) return [];
    const out: Buffer[] = [];
    // Copy each contiguous run of records at once, then hand out views into the copy.
    let runStart = -1;
    let runEnd = 0;
    const spans: [number, number][] = [];
    const flush = () => {
      if (runStart < 0) return;
      const copy = Buffer.from(this.bytes.subarray(runStart, runEnd));
      for (const [off, len] of spans) out.push(copy.subarray(off - runStart, off - runStart + len));
      spans.length = 0;
      runStart = -1;
    };
    while (head !== tail) {
      const pos = head & this.mask;
      const len = this.words[pos >> 2];
      if (len === WRAP) {
        flush();
        head = (head + (this.cap - pos)) >>> 0;
        continue;
      }
      if (runStart < 0) runStart = pos;
      spans.push([pos + 4, len]);
      runEnd = pos + 4 + len;
      head = (head + recordSize(len)) >>> 0;
    }
    flush();
    Atomics.store(this.ctl, CTL.HEAD, head | 0);
    if (Atomics.load(this.ctl, CTL.PRODUCER_WAITING) === 1) Atomics.notify(this.ctl, CTL.HEAD);
    return out;
  }

  private armedSeq = 0;

  /** Announces that the consumer is about to sleep; returns false if packets arrived meanwhile. */
  armWake(): boolean {
    // Read the sequence before raising the flag: a wake sent after this point changes it, so
    // sleep() cannot miss it.
    this.armedSeq = Atomics.load(this.ctl, CTL.WAKE_SEQ);
    Atomics.store(this.ctl, CTL.CONSUMER_WAITING, 1);
    if (Atomics.load(this.ctl, CTL.HEAD) !== Atomics.load(this.ctl, CTL.TAIL)) {
      Atomics.store(this.ctl, CTL.CONSUMER_WAITING, 0);
      return false;
    }
    return true;
  }

  /**
   * Resolves once the producer wakes us after armWake() returned true (at once if it already
   * did). It does not keep the event loop alive by itself; the caller refs the reader thread.
   */
  sleep(): Promise<unknown> {
    const r = waitAsync(this.ctl, CTL.WAKE_SEQ, this.armedSeq);
    return r.async ? r.value : Promise.resolve(r.value);
  }

  setState(state: number): void {
    Atomics.store(this.ctl, CTL.STATE, state);
    Atomics.notify(this.ctl, CTL.HEAD); // a producer waiting for space rechecks the state
    // Release a pending sleep() so no waiter outlives the ring.
    Atomics.add(this.ctl, CTL.WAKE_SEQ, 1);
    Atomics.notify(this.ctl, CTL.WAKE_SEQ);
  }
}

// Atomics.waitAsync is ES2024 (Node >= 16 has it); the project's lib is ES2023.
type WaitAsyncResult =
  { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<string> };
const waitAsync = (
  Atomics as unknown as {
    waitAsync(ta: Int32Array, index: number, value: number): WaitAsyncResult;
  }
).waitAsync;
