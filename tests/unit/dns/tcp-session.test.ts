// DNS over TCP sessions: framing, out-of-order answers, and the bounds (queries in flight per
// session, backpressure on the writer while the bound is reached or the reader is not reading).
import { expect } from 'chai';
import { createDnsTcpSession } from '../../../systemext/dns/tcp-session';

function frame(id: number): Buffer {
  const q = Buffer.alloc(12);
  q.writeUInt16BE(id, 0);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(q.length);
  return Buffer.concat([len, q]);
}

/** A handler whose answers the test releases by hand. */
function manualHandler(): {
  handle: (q: Buffer) => Promise<Buffer | null>;
  started: number[];
  answer: (id: number) => void;
} {
  const started: number[] = [];
  const waiting = new Map<number, (b: Buffer) => void>();
  return {
    started,
    handle: (q) =>
      new Promise((resolve) => {
        const id = q.readUInt16BE(0);
        started.push(id);
        waiting.set(id, resolve);
      }),
    answer: (id) => {
      const a = Buffer.alloc(12);
      a.writeUInt16BE(id, 0);
      a[2] = 0x80;
      waiting.get(id)!(a);
      waiting.delete(id);
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('dns: TCP session bounds', () => {
  it('runs at most maxInflight queries at once and holds the writer meanwhile', async () => {
    const h = manualHandler();
    const s = createDnsTcpSession(h.handle, { maxInflight: 4 });
    let written = false;
    // Ten queries in one chunk: the write completes only once all are started.
    s.write(Buffer.concat(Array.from({ length: 10 }, (_, i) => frame(i))), () => (written = true));
    await tick();
    expect(h.started).to.deep.equal([0, 1, 2, 3]);
    expect(written).to.equal(false); // backpressure: the pipe stops reading the client
    const answers: number[] = [];
    s.on('data', (d: Buffer) => answers.push(d.readUInt16BE(2)));
    h.answer(2);
    h.answer(0);
    await tick();
    expect(h.started).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(answers).to.deep.equal([2, 0]); // as they complete
    for (const id of [1, 3, 4, 5]) h.answer(id);
    await tick();
    expect(h.started).to.have.length(10);
    expect(written).to.equal(true);
    for (const id of [6, 7, 8, 9]) h.answer(id);
    await tick();
    expect(answers).to.have.length(10);
    s.destroy();
  });

  it('stops starting queries while the client does not read its answers', async () => {
    const h = manualHandler();
    const s = createDnsTcpSession(h.handle, { maxInflight: 64 });
    // A tiny readable buffer: the first answer fills it.
    (s as unknown as { _readableState: { highWaterMark: number } })._readableState.highWaterMark = 1;
    s.write(frame(1));
    await tick();
    h.answer(1);
    await tick();
    let written = false;
    s.write(Buffer.concat([frame(2), frame(3)]), () => (written = true));
    await tick();
    expect(h.started).to.deep.equal([1]);
    expect(written).to.equal(false);
    s.read(); // the client reads: work resumes
    await tick();
    expect(h.started).to.deep.equal([1, 2, 3]);
    expect(written).to.equal(true);
    s.destroy();
  });

  it('ends after the client ends and the last answer is out', async () => {
    const h = manualHandler();
    const s = createDnsTcpSession(h.handle);
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    const ended = new Promise((r) => s.on('end', r));
    s.end(frame(7));
    await tick();
    h.answer(7);
    await ended;
    expect(chunks).to.have.length(1);
  });
});
