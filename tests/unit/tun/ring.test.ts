import { expect } from 'chai';
import { Worker } from 'node:worker_threads';
import { CLOSING, createRing, CTL, RingConsumer, RingProducer, RUNNING } from '../../../systemext/tun/ring';

function put(p: RingProducer, pkt: Buffer): boolean {
  const pos = p.reserve(pkt.length);
  if (pos < 0) return false;
  pkt.copy(p.bytes, pos + 4);
  p.commit(pos, pkt.length);
  return true;
}

describe('tun: shared packet ring (single thread)', () => {
  it('delivers packets in order, all available ones in one batch, as independent copies', () => {
    const shared = createRing(4096);
    const p = new RingProducer(shared);
    const c = new RingConsumer(shared);
    expect(c.drain()).to.deep.equal([]);
    for (let i = 1; i <= 5; i++) expect(put(p, Buffer.alloc(i * 10, i))).to.equal(true);
    const got = c.drain();
    expect(got.map((b) => b.length)).to.deep.equal([10, 20, 30, 40, 50]);
    expect(got.map((b) => b[0])).to.deep.equal([1, 2, 3, 4, 5]);
    put(p, Buffer.alloc(10, 9)); // reuses ring space: earlier packets must not change
    expect(got[0].every((x) => x === 1)).to.equal(true);
    expect(c.drain().map((b) => b[0])).to.deep.equal([9]);
  });

  it('wraps around the end without splitting a record, many times over', () => {
    const shared = createRing(4096);
    const p = new RingProducer(shared);
    const c = new RingConsumer(shared);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 500; round++) {
      for (let k = 0; k < 3; k++) {
        const pkt = Buffer.alloc(100 + ((next * 37) % 900));
        pkt.writeUInt32BE(next++, 0);
        expect(put(p, pkt)).to.equal(true);
      }
      for (const b of c.drain()) {
        expect(b.length).to.equal(100 + ((expected * 37) % 900)); // runs start anywhere in the ring
        expect(b.readUInt32BE(0)).to.equal(expected++);
      }
    }
    expect(expected).to.equal(1500);
  });

  it('reports a full ring instead of overwriting unread packets', () => {
    const shared = createRing(4096);
    const p = new RingProducer(shared);
    const c = new RingConsumer(shared);
    let n = 0;
    while (put(p, Buffer.alloc(1000, n))) n++;
    expect(n).to.equal(4); // 4 × 1004 bytes fit in 4096, a fifth does not
    expect(c.drain()).to.have.length(4);
    expect(put(p, Buffer.alloc(1000))).to.equal(true);
    expect(() => p.reserve(3000)).to.throw(RangeError);
  });

  it('asks for a wake only when the consumer armed one, and only once', () => {
    const shared = createRing(4096);
    const p = new RingProducer(shared);
    const c = new RingConsumer(shared);
    let pos = p.reserve(10);
    expect(p.commit(pos, 10)).to.equal(false);
    expect(c.armWake()).to.equal(false); // data is there: do not sleep
    c.drain();
    expect(c.armWake()).to.equal(true);
    pos = p.reserve(10);
    expect(p.commit(pos, 10)).to.equal(true);
    pos = p.reserve(10);
    expect(p.commit(pos, 10)).to.equal(false);
    expect(Atomics.load(c.ctl, CTL.PASSED)).to.equal(3);
  });

  it("sleep() resolves on the producer's wake, even one sent before sleep() was called", async () => {
    const shared = createRing(4096);
    const p = new RingProducer(shared);
    const c = new RingConsumer(shared);
    expect(c.armWake()).to.equal(true);
    const woken = c.sleep();
    if (p.commit(p.reserve(10), 10)) p.wake();
    await woken;
    expect(c.drain()).to.have.length(1);
    // The wake races ahead of sleep(): armWake() took the sequence number, so it is not missed.
    expect(c.armWake()).to.equal(true);
    if (p.commit(p.reserve(10), 10)) p.wake();
    await c.sleep();
    expect(c.drain()).to.have.length(1);
  });

  it('setState() releases a pending sleep()', async () => {
    const c = new RingConsumer(createRing(4096));
    expect(c.armWake()).to.equal(true);
    const woken = c.sleep();
    c.setState(CLOSING);
    await woken;
  });

  // Regression: reserve() used to publish the wrap marker at once. A drain() between that and the
  // producer's commit then consumed the marker, returned [] and let armWake() see "data": the
  // reader's read() resolved with [], which the engine took for "device closed" and stopped.
  it('a reserve that wraps publishes nothing until commit (no empty batch, no false data)', () => {
    const shared = createRing(4096);
    const p = new RingProducer(shared);
    const c = new RingConsumer(shared);
    expect(put(p, Buffer.alloc(1500, 1)) && put(p, Buffer.alloc(1500, 1))).to.equal(true);
    expect(c.drain()).to.have.length(2); // HEAD = TAIL = 3008: 1088 bytes to the end
    const pos = p.reserve(1500); // must wrap
    expect(pos).to.equal(0);
    expect(c.armWake()).to.equal(true); // nothing visible yet: sleeping is right
    expect(c.drain()).to.deep.equal([]);
    Buffer.alloc(1500, 7).copy(p.bytes, pos + 4);
    expect(p.commit(pos, 1500)).to.equal(true); // the armed consumer must be woken
    const got = c.drain();
    expect(got.map((b) => [b.length, b[0]])).to.deep.equal([[1500, 7]]);
  });

  it('a reserve that is dropped (never committed) leaves the ring as it was', () => {
    const shared = createRing(4096);
    const p = new RingProducer(shared);
    const c = new RingConsumer(shared);
    expect(put(p, Buffer.alloc(1500, 1)) && put(p, Buffer.alloc(1500, 1))).to.equal(true);
    c.drain();
    expect(p.reserve(1500)).to.equal(0); // would wrap; dropped
    expect(put(p, Buffer.alloc(100, 2))).to.equal(true); // fits before the end: no wrap
    expect(c.drain().map((b) => [b.length, b[0]])).to.deep.equal([[100, 2]]);
  });

  // Regression: waitForSpace() re-read HEAD before waiting. A drain() between the failed reserve()
  // and the wait (which saw no waiting producer, so notified nobody) left the reader asleep for
  // its whole timeout with an empty ring. It must wait against the HEAD reserve() saw.
  it('waitForSpace() returns at once when the consumer drained after the failed reserve', () => {
    const shared = createRing(4096);
    const p = new RingProducer(shared);
    const c = new RingConsumer(shared);
    while (put(p, Buffer.alloc(1000))) {
      /* fill */
    }
    expect(p.reserve(1000)).to.equal(-1); // full: the producer is about to wait
    expect(c.drain()).to.have.length(4); // ...but the consumer drains first (no waiter flagged)
    expect(p.waitForSpace(5000)).to.equal('not-equal');
    expect(p.reserve(1000)).to.be.at.least(0);
  });

  // The counters are free-running modulo 2^32 (stored in Int32 slots): everything must keep
  // working across 2^31 (sign flip) and 2^32 (wrap to 0), i.e. after ~2 GiB and ~4 GiB.
  for (const start of [0x7fffff00, 0xffffff00]) {
    it(`keeps order and terminates with counters starting at 0x${start.toString(16)}`, () => {
      const shared = createRing(4096);
      const ctl = new Int32Array(shared.ctl);
      Atomics.store(ctl, CTL.HEAD, start | 0);
      Atomics.store(ctl, CTL.TAIL, start | 0);
      const p = new RingProducer(shared);
      const c = new RingConsumer(shared);
      let next = 0;
      let expected = 0;
      for (let round = 0; round < 50; round++) {
        for (let k = 0; k < 3; k++) {
          const pkt = Buffer.alloc(100 + ((next * 37) % 900));
          pkt.writeUInt32BE(next++, 0);
          expect(put(p, pkt)).to.equal(true);
        }
        for (const b of c.drain()) expect(b.readUInt32BE(0)).to.equal(expected++);
      }
      expect(expected).to.equal(150);
      // ...and it crossed the boundary.
      expect(Atomics.load(ctl, CTL.HEAD) >>> 0 < start).to.equal(start === 0xffffff00);
      expect(Atomics.load(ctl, CTL.HEAD) < 0).to.equal(start === 0x7fffff00);
    });
  }

  it('usedAfter() counts the pending wrap, so class limits see the real fill', () => {
    const shared = createRing(4096);
    const p = new RingProducer(shared);
    const c = new RingConsumer(shared);
    expect(put(p, Buffer.alloc(1500)) && put(p, Buffer.alloc(1500))).to.equal(true);
    c.drain();
    expect(p.reserve(1500)).to.equal(0);
    expect(p.usedAfter(1500)).to.equal(1088 + 1504);
  });

  it('refuses capacities that are not a power of two, or below 4096', () => {
    expect(() => createRing(5000)).to.throw(RangeError, /power of two >= 4096, got 5000/);
    expect(() => createRing(2048)).to.throw(RangeError, /got 2048/);
  });

  it('takes records up to half the ring, and no larger', () => {
    const p = new RingProducer(createRing(4096));
    expect(p.reserve(2044)).to.equal(0); // 4 + 2044 = 2048: exactly half
    expect(() => p.reserve(2045)).to.throw(RangeError, /record of 2045 bytes is too large/);
  });

  it('fills to the last byte without wrapping early, before and after the end', () => {
    const shared = createRing(4096);
    const p = new RingProducer(shared);
    const c = new RingConsumer(shared);
    // A record that ends exactly at the end of the buffer: no wrap.
    expect(put(p, Buffer.alloc(2044)) && put(p, Buffer.alloc(1000))).to.equal(true); // tail 3052
    c.drain();
    expect(p.reserve(1040)).to.equal(3052); // 1044 bytes: exactly what is left before the end
    p.commit(3052, 1040);
    c.drain(); // HEAD = TAIL = 4096 ≡ 0
    // Wrapped: the tail is behind the head, and the room between them is the limit.
    const shared2 = createRing(8192);
    const p2 = new RingProducer(shared2);
    const c2 = new RingConsumer(shared2);
    expect(put(p2, Buffer.alloc(4000)) && put(p2, Buffer.alloc(2000))).to.equal(true); // tail 6008
    c2.drain(); // head 6008
    expect(put(p2, Buffer.alloc(2000))).to.equal(true); // at 6008, tail 8012
    expect(put(p2, Buffer.alloc(3000))).to.equal(true); // wraps (180 skipped): at 0, tail pos 3004
    // used = 2004 + 180 + 3004 = 5188: 3004 bytes free, all of them after the tail.
    expect(p2.reserve(3100)).to.equal(-1);
    expect(p2.reserve(3000)).to.equal(3004); // exactly the free room
    expect(p2.reserve(3001)).to.equal(-1);
    // A wrap that needs exactly what is free: the bytes to skip + the record.
    c2.drain(); // everything consumed, head at pos 3004
    expect(put(p2, Buffer.alloc(4000)) && put(p2, Buffer.alloc(1172))).to.equal(true); // tail pos 8184
    // used 5180, free 3012 = 8 to skip + 3004
    expect(p2.reserve(3000)).to.equal(0);
    expect(p2.reserve(3001)).to.equal(-1);
  });

  it('exposes its state and counters to the other side', () => {
    const shared = createRing(4096);
    const p = new RingProducer(shared);
    const c = new RingConsumer(shared);
    expect(p.load(CTL.STATE)).to.equal(RUNNING);
    c.setState(CLOSING);
    expect(p.load(CTL.STATE)).to.equal(CLOSING);
    p.count(CTL.OVERSIZE);
    p.count(CTL.OVERSIZE);
    expect(c.load(CTL.OVERSIZE)).to.equal(2);
  });

  // The producer blocks in Atomics.wait on HEAD; drain() must notify it, or it sleeps its whole
  // timeout. A worker thread plays the producer (plain JS on the shared memory).
  it('drain() wakes a producer waiting for space', async function () {
    this.timeout(20_000);
    const shared = createRing(4096);
    const c = new RingConsumer(shared);
    const p = new RingProducer(shared);
    while (put(p, Buffer.alloc(1000))) {
      /* fill */
    }
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      const ctl = new Int32Array(workerData.ctl);
      const head = Atomics.load(ctl, ${CTL.HEAD});
      Atomics.store(ctl, ${CTL.PRODUCER_WAITING}, 1);
      parentPort.postMessage('waiting');
      parentPort.postMessage(Atomics.wait(ctl, ${CTL.HEAD}, head, 60000));`;
    const w = new Worker(code, { eval: true, workerData: shared });
    try {
      const said: string[] = [];
      const next = () => new Promise<string>((r) => w.once('message', r));
      said.push(await next());
      expect(said).to.deep.equal(['waiting']);
      const result = next();
      // Wait until it is really inside Atomics.wait: only a notify (or 60 s) ends that.
      await new Promise((r) => setTimeout(r, 50));
      expect(c.drain()).to.have.length(4);
      expect(await result).to.be.oneOf(['ok', 'not-equal']);
    } finally {
      await w.terminate();
    }
  });
});
