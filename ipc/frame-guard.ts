// A bound on the size of what a peer can make us buffer. vscode-jsonrpc frames messages with
// `Content-Length: N\r\n\r\n` headers but accepts any N and any header length, buffering it all.
// FrameGuard watches the same framing as bytes go by (it passes them through unchanged) and fails
// as soon as a header or a declared body is over the limit, before anything is buffered.

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

const MAX_HEADER_BYTES = 1024;
const HEADER_END = Buffer.from('\r\n\r\n');

export class FrameGuard {
  /** Header bytes of the frame being read (only while in the header). */
  private header: Buffer = Buffer.alloc(0);
  /** Body bytes still to pass before the next header starts; -1 while reading a header. */
  private bodyLeft = -1;

  constructor(readonly maxFrameBytes: number) {}

  /** Checks one chunk of the stream; throws FrameError when the peer broke the framing or the limit. */
  check(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, chunk.length - at);
        this.bodyLeft -= n;
        at += n;
        if (this.bodyLeft === 0) this.bodyLeft = -1;
        continue;
      }
      // In a header: collect up to the blank line.
      const rest = chunk.subarray(at);
      const joined = this.header.length ? Buffer.concat([this.header, rest]) : rest;
      const end = joined.indexOf(HEADER_END);
      if (end < 0) {
        if (joined.length > MAX_HEADER_BYTES)
          throw new FrameError(`frame header longer than ${MAX_HEADER_BYTES} bytes`);
        this.header = Buffer.from(joined);
        return;
      }
      if (end > MAX_HEADER_BYTES) throw new FrameError(`frame header longer than ${MAX_HEADER_BYTES} bytes`);
      const length = contentLength(joined.subarray(0, end).toString('latin1'));
      if (length > this.maxFrameBytes)
        throw new FrameError(`frame of ${length} bytes is over the limit of ${this.maxFrameBytes}`);
      const consumedFromRest = end + HEADER_END.length - this.header.length;
      this.header = Buffer.alloc(0);
      at += consumedFromRest;
      this.bodyLeft = length === 0 ? -1 : length;
    }
  }
}

function contentLength(header: string): number {
  let length: number | null = null;
  for (const line of header.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) throw new FrameError(`malformed frame header line "${line.slice(0, 80)}"`);
    if (line.slice(0, colon).trim().toLowerCase() !== 'content-length') continue;
    const value = line.slice(colon + 1).trim();
    if (!/^\d{1,10}$/.test(value)) throw new FrameError(`bad Content-Length "${value.slice(0, 20)}"`);
    length = Number(value);
  }
  if (length === null) throw new FrameError('frame header without Content-Length');
  return length;
}
