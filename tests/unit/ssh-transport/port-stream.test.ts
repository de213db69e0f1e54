// PortStream: bytes, half-close, close and flow control between two ends of a MessageChannel.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { MessageChannel } from 'node:worker_threads';
import { PortStream } from '../../../systemext/ssh/worker/port-stream';

function pair(window?: number): [PortStream, PortStream] {
  const { port1, port2 } = new MessageChannel();
  return [new PortStream(port1, window), new PortStream(port2, window)];
}

function readAll(s: PortStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
  });
}

describe('PortStream', () => {
  it('carries every byte in order, in both directions, with half-close', async () => {
    const [a, b] = pair(64 * 1024);
    const up = randomBytes(3_000_000);
    const down = randomBytes(1_000_000);
    const gotB = readAll(b);
    const gotA = readAll(a);
    for (let i = 0; i < up.length; i += 10_000) a.write(up.subarray(i, i + 10_000));
    a.end();
    expect((await gotB).equals(up)).to.equal(true);
    b.end(down); // b can still write after a's end
    expect((await gotA).equals(down)).to.equal(true);
    await Promise.all([a, b].map((s) => new Promise((r) => (s.closed ? r(null) : s.once('close', r)))));
  });

  it('holds the writer back while the reader does not read (bounded by the window)', async () => {
    const [a, b] = pair(64 * 1024);
    b.pause();
    let accepted = 0;
    const chunk = Buffer.alloc(16 * 1024);
    // Write until the stream asks us to wait, then let messages settle.
    while (a.write(chunk)) accepted += chunk.length;
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    expect(a.writableNeedDrain).to.equal(true);
    // b buffered at most its highWaterMark plus one window before credit stopped.
    expect(b.readableLength).to.be.at.most(b.readableHighWaterMark + 64 * 1024 + chunk.length);
    const drained = new Promise((r) => a.once('drain', r));
    b.resume();
    await drained;
    a.destroy();
    expect(accepted).to.be.greaterThan(0);
  });

  it('destroying one end closes the other', async () => {
    const [a, b] = pair();
    const closed = new Promise((r) => b.once('close', r));
    a.destroy();
    await closed;
  });
});
