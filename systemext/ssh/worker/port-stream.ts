// A byte stream over a MessagePort between two threads, with flow control: the sender may have at
// most `window` bytes not yet taken by the receiver's reader, so a slow side holds the other back
// instead of queueing without bound. Half-close (end) and close cross over like on a socket.
import { Duplex } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';

type Msg = { d: Uint8Array } | { credit: number } | { eof: true };

export class PortStream extends Duplex {
  private credit: number;
  private owed = 0;
  private blocked: (() => void) | null = null;
  private pending: Buffer[] = [];
  private portClosed = false;

  constructor(
    private readonly port: MessagePort,
    private readonly window = 1 << 20,
  ) {
    super({ allowHalfOpen: true });
    this.credit = window;
    port.on('message', (m: Msg) => this.onMessage(m));
    port.once('close', () => {
      this.portClosed = true;
      this.destroy();
    });
  }

  private onMessage(m: Msg): void {
    if ('d' in m) {
      this.owed += m.d.byteLength;
      const more = this.push(Buffer.from(m.d.buffer, m.d.byteOffset, m.d.byteLength));
      if (more && this.owed >= this.window / 4) this.grant();
    } else if ('credit' in m) {
      this.credit += m.credit;
      const resume = this.blocked;
      this.blocked = null;
      resume?.();
    } else {
      this.push(null);
    }
  }

  private grant(): void {
    if (this.owed === 0 || this.destroyed) return;
    this.port.postMessage({ credit: this.owed });
    this.owed = 0;
  }

  override _read(): void {
    this.grant();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const send = (): void => {
      this.credit -= chunk.length;
      this.queue(chunk);
      cb();
    };
    if (this.credit > 0) send();
    else this.blocked = send;
  }

  /**
   * Chunks written in the same tick (ssh2 delivers a socket read's packets together) go as one
   * message: fewer messages, and the joined buffer is ours, so it is transferred, not copied.
   */
  private queue(chunk: Buffer): void {
    this.pending.push(chunk);
    if (this.pending.length === 1) queueMicrotask(() => this.flush());
  }

  private flush(): void {
    const chunks = this.pending;
    this.pending = [];
    if (chunks.length === 0 || this.portClosed) return;
    if (chunks.length === 1) return this.port.postMessage({ d: chunks[0] });
    const joined = Buffer.allocUnsafeSlow(chunks.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of chunks) off += c.copy(joined, off);
    this.port.postMessage({ d: joined }, [joined.buffer as ArrayBuffer]);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.flush();
    this.port.postMessage({ eof: true });
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.blocked = null;
    this.flush(); // what was written before destroy() still goes
    this.portClosed = true;
    this.port.close();
    cb(err);
  }
}
