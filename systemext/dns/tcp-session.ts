// DNS over TCP (RFC 7766) as an in-process Duplex: the engine's system stack pipes a client's
// TCP connection to DNS-address:53 into it, like any app. Frames are 2-byte-length-prefixed;
// queries are answered as they complete (possibly out of order, which RFC 7766 §6.2.1.1 allows).
//
// Bounded: at most `maxInflight` queries of one session run at once, and while that many run, or
// the client does not read its answers, the session stops taking bytes (the write callback waits),
// so the pipe pauses the socket and TCP flow control pushes back on the client.
import { Duplex } from 'node:stream';

export type QueryHandler = (query: Buffer) => Promise<Buffer | null>;

export interface DnsTcpSessionOptions {
  /** Closes the session after this long without a query (default 30 s). */
  idleMs?: number;
  /** Queries of this session in flight at once (default 16). */
  maxInflight?: number;
}

const LEN_PREFIX = 2;

export function createDnsTcpSession(handle: QueryHandler, opts: DnsTcpSessionOptions = {}): Duplex {
  const idleMs = opts.idleMs ?? 30_000;
  const maxInflight = opts.maxInflight ?? 16;
  let buf: Buffer = Buffer.alloc(0);
  let inflight = 0;
  let ended = false;
  let readerFull = false;
  let pendingWrite: (() => void) | null = null;
  let idle: NodeJS.Timeout;

  const frameReady = (): boolean =>
    buf.length >= LEN_PREFIX && buf.length >= LEN_PREFIX + buf.readUInt16BE(0);

  /** Starts what the limits allow, then takes more bytes once no whole frame waits. */
  function pump(): void {
    while (inflight < maxInflight && !readerFull && frameReady()) {
      const q = Buffer.from(buf.subarray(LEN_PREFIX, LEN_PREFIX + buf.readUInt16BE(0)));
      buf = buf.subarray(LEN_PREFIX + q.length);
      inflight++;
      handle(q)
        .catch(() => null)
        .then((a) => {
          inflight--;
          if (a && !session.destroyed) {
            const len = Buffer.alloc(LEN_PREFIX);
            len.writeUInt16BE(a.length);
            if (!session.push(Buffer.concat([len, a]))) readerFull = true;
          }
          pump();
          maybeEnd();
        });
    }
    if (pendingWrite && !frameReady()) {
      const cb = pendingWrite;
      pendingWrite = null;
      cb();
    }
  }

  const session = new Duplex({
    read() {
      readerFull = false;
      pump();
    },
    write(chunk: Buffer, _enc, cb) {
      armIdle();
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      pendingWrite = () => cb();
      pump();
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
    if (ended && inflight === 0 && !frameReady() && !session.destroyed) {
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
