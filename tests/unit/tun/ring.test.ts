import { expect } from 'chai';
import { CLOSING, createRing, CTL, RingConsumer, RingProducer } from '../../../systemext/tun/ring';

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
      for (const b of c.drain()) expect(b.readUInt32BE(0)).to.equal(expected++);
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

  it('refuses capacities that are not a power of two', () => {
    expect(() => createRing(5000)).to.throw(RangeError);
  });
});
