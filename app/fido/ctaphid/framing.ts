// Pure CTAPHID framing (CTAP 2.1 §11.2.4): split a message into 64-byte reports and put it back
// together. No I/O here, so every edge case is unit-testable; both the host transport and the
// virtual authenticator use it.
//
//   init packet:         CID(4, big-endian) | CMD(1, bit 7 set) | BCNT(2, big-endian) | DATA(57)
//   continuation packet: CID(4)             | SEQ(1, 0..0x7f)                       | DATA(59)

import { CONT_DATA_SIZE, INIT_DATA_SIZE, MAX_PAYLOAD, MAX_SEQ, REPORT_SIZE, TYPE_INIT } from './constants';

export type FramingErrorKind = 'oversize' | 'bad-length' | 'bad-seq' | 'unexpected-cont' | 'unexpected-init';

export class FramingError extends Error {
  constructor(
    readonly kind: FramingErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'FramingError';
  }
}

/** Split one message into reports of exactly 64 bytes (zero-padded). */
export function fragment(cid: number, cmd: number, payload: Uint8Array): Buffer[] {
  if (payload.length > MAX_PAYLOAD) {
    throw new FramingError('oversize', `CTAPHID message of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  }
  const reports: Buffer[] = [];
  const first = Buffer.alloc(REPORT_SIZE);
  first.writeUInt32BE(cid >>> 0, 0);
  first[4] = TYPE_INIT | (cmd & 0x7f);
  first.writeUInt16BE(payload.length, 5);
  first.set(payload.subarray(0, INIT_DATA_SIZE), 7);
  reports.push(first);
  let offset = INIT_DATA_SIZE;
  for (let seq = 0; offset < payload.length; seq++) {
    const cont = Buffer.alloc(REPORT_SIZE);
    cont.writeUInt32BE(cid >>> 0, 0);
    cont[4] = seq;
    cont.set(payload.subarray(offset, offset + CONT_DATA_SIZE), 5);
    reports.push(cont);
    offset += CONT_DATA_SIZE;
  }
  return reports;
}

export function reportCid(report: Uint8Array): number {
  return Buffer.from(report.buffer, report.byteOffset, report.byteLength).readUInt32BE(0);
}

export function isInitPacket(report: Uint8Array): boolean {
  return (report[4] & TYPE_INIT) !== 0;
}

export type PushResult =
  | { status: 'ignored' } // another channel's report
  | { status: 'partial' } // more continuation packets to come
  | { status: 'complete'; cmd: number; payload: Buffer };

/**
 * Reassembles the messages of ONE channel. Reports of other channels are ignored (several
 * applications may share a key, §11.2.5). Errors leave the reassembler reset and ready for the
 * next init packet.
 *
 * An init packet in the middle of a message is an error for a device (it answers ERR_INVALID_SEQ).
 * The host instead passes `restartOnInit`: the key has abandoned the old message (a resync, a
 * cancel) and the new one, e.g. the INIT reply of a resync, must not be thrown away with it.
 */
export class Reassembler {
  private cmd = 0;
  private buf: Buffer | null = null;
  private filled = 0;
  private nextSeq = 0;
  /** Partial messages dropped because a new one started (restartOnInit). */
  abandoned = 0;

  constructor(
    public cid: number,
    private readonly opts: { restartOnInit?: boolean } = {},
  ) {}

  get inProgress(): boolean {
    return this.buf !== null;
  }

  reset(): void {
    this.buf = null;
    this.filled = 0;
    this.nextSeq = 0;
  }

  push(report: Uint8Array): PushResult {
    if (report.length !== REPORT_SIZE) {
      this.reset();
      throw new FramingError('bad-length', `HID report of ${report.length} bytes, expected ${REPORT_SIZE}`);
    }
    if (reportCid(report) !== this.cid >>> 0) return { status: 'ignored' };
    if (isInitPacket(report)) {
      if (this.buf && this.opts.restartOnInit) {
        this.abandoned++;
        this.reset();
      } else if (this.buf) {
        this.reset();
        throw new FramingError(
          'unexpected-init',
          'new CTAPHID message started before the previous one ended',
        );
      }
      const length = (report[5] << 8) | report[6];
      if (length > MAX_PAYLOAD) {
        throw new FramingError(
          'oversize',
          `CTAPHID message announces ${length} bytes, more than ${MAX_PAYLOAD}`,
        );
      }
      this.cmd = report[4] & 0x7f;
      const data = Buffer.from(report.subarray(7, 7 + Math.min(length, INIT_DATA_SIZE)));
      if (length <= INIT_DATA_SIZE) return { status: 'complete', cmd: this.cmd, payload: data };
      this.buf = Buffer.alloc(length);
      data.copy(this.buf, 0);
      this.filled = data.length;
      this.nextSeq = 0;
      return { status: 'partial' };
    }
    if (!this.buf) {
      throw new FramingError(
        'unexpected-cont',
        'CTAPHID continuation packet without an initialization packet',
      );
    }
    const seq = report[4];
    if (seq !== this.nextSeq || seq > MAX_SEQ) {
      const expected = this.nextSeq;
      this.reset();
      throw new FramingError('bad-seq', `CTAPHID continuation packet ${seq}, expected ${expected}`);
    }
    this.nextSeq++;
    const take = Math.min(CONT_DATA_SIZE, this.buf.length - this.filled);
    this.buf.set(report.subarray(5, 5 + take), this.filled);
    this.filled += take;
    if (this.filled < this.buf.length) return { status: 'partial' };
    const payload = this.buf;
    const cmd = this.cmd;
    this.reset();
    return { status: 'complete', cmd, payload };
  }
}
