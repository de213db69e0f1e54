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

  constructor(
    private readonly port: MessagePort,
    private readonly window = 1 << 20,
  ) {
    super({ allowHalfOpen: true });
    this.credit = window;
    port.on('message', (m: Msg) => this.onMessage(m));
    port.once('close', () => this.destroy());
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
      this.port.postMessage({ d: chunk });
      cb();
    };
    if (this.credit > 0) send();
    else this.blocked = send;
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.port.postMessage({ eof: true });
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.blocked = null;
    this.port.close();
    cb(err);
  }
}
