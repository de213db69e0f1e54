// DNS over TCP (RFC 7766) as an in-process Duplex: the engine's system stack pipes a client's
// TCP connection to DNS-address:53 into it, like any app. Frames are 2-byte-length-prefixed;
// queries are answered as they complete (possibly out of order, which RFC 7766 §6.2.1.1 allows).
import { Duplex } from 'node:stream';

export type QueryHandler = (query: Buffer) => Promise<Buffer | null>;

export function createDnsTcpSession(handle: QueryHandler, idleMs = 30_000): Duplex {
  let buf: Buffer = Buffer.alloc(0);
  let inflight = 0;
  let ended = false;
  let idle: NodeJS.Timeout;
  const session = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      armIdle();
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const q = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + q.length);
        inflight++;
        handle(Buffer.from(q))
          .catch(() => null)
          .then((a) => {
            inflight--;
            if (a && !session.destroyed) {
              const len = Buffer.alloc(2);
              len.writeUInt16BE(a.length);
              session.push(Buffer.concat([len, a]));
            }
            maybeEnd();
          });
      }
      cb();
    },
    final(cb) {
      ended = true;
      maybeEnd();
      cb();
    },
    destroy(err, cb) {
      clearTimeout(idle);
      cb(err);
    },
  });
  function maybeEnd(): void {
    if (ended && inflight === 0 && !session.destroyed) {
      clearTimeout(idle);
      session.push(null);
    }
  }
  function armIdle(): void {
    clearTimeout(idle);
    idle = setTimeout(() => session.push(null), idleMs);
    idle.unref();
  }
  armIdle();
  return session;
}
