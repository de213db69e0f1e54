// The device side of CTAPHID for the virtual authenticator: it receives 64-byte output reports
// and answers with 64-byte input reports exactly as a USB key would (CTAP 2.1 §11.2), so the
// host transport runs unchanged against it.

import { EventEmitter } from 'node:events';
import { FidoError } from '../api';
import * as H from '../ctaphid/constants';
import { fragment, FramingError, isInitPacket, Reassembler, reportCid } from '../ctaphid/framing';
import type { HidDeviceInfo, HidReportDevice } from '../hid/report-device';

/** What runs behind CTAPHID_CBOR. */
export interface CborHandler {
  handle(request: Buffer, io: { signal: AbortSignal; keepalive(status: number): void }): Promise<Buffer>;
}

/** What runs behind CTAPHID_MSG (U2F APDUs). */
export interface MsgHandler {
  handle(apdu: Buffer): Promise<Buffer>;
}

export interface VirtualHidOptions {
  /** Capabilities without CBOR: a U2F-only key. */
  ctap1Only: boolean;
  /** U2F behind CTAPHID_MSG; null: capability NMSG (no U2F). */
  msg: MsgHandler | null;
  /** A message whose continuation packets stop coming is dropped after this (ERR_MSG_TIMEOUT). */
  messageTimeoutMs: number;
  version: [number, number, number];
}

export class VirtualHidDevice extends EventEmitter implements HidReportDevice {
  closed = false;
  private readonly channels = new Set<number>();
  private readonly partial = new Map<number, { reasm: Reassembler; timer: NodeJS.Timeout }>();
  private nextCid = 0x01000000 + Math.floor(Math.random() * 0xffff) * 0x100;
  private busy: { cid: number; abort: AbortController } | null = null;

  constructor(
    readonly info: HidDeviceInfo,
    private readonly handler: CborHandler,
    private readonly opts: VirtualHidOptions,
  ) {
    super();
  }

  async write(report: Buffer): Promise<void> {
    if (this.closed) throw new FidoError('device-removed', 'The security key was removed.');
    if (report.length !== H.REPORT_SIZE) throw new Error(`HID output report must be ${H.REPORT_SIZE} bytes`);
    const copy = Buffer.from(report);
    // Deliver asynchronously, like USB: the writer never runs device code re-entrantly.
    setImmediate(() => {
      if (!this.closed) this.onReport(copy);
    });
  }

  async close(): Promise<void> {
    this.shutdown();
  }

  /** The key is pulled out: the host sees 'removed', pending work is dropped. */
  unplug(): void {
    if (this.closed) return;
    this.shutdown();
    this.emit('removed');
  }

  private shutdown(): void {
    this.closed = true;
    this.busy?.abort.abort();
    this.busy = null;
    for (const p of this.partial.values()) clearTimeout(p.timer);
    this.partial.clear();
  }

  private send(cid: number, cmd: number, payload: Uint8Array): void {
    for (const r of fragment(cid, cmd, payload)) {
      setImmediate(() => {
        if (!this.closed) this.emit('report', r);
      });
    }
  }

  private sendError(cid: number, code: number): void {
    this.send(cid, H.CMD_ERROR, Buffer.from([code]));
  }

  private onReport(report: Buffer): void {
    const cid = reportCid(report);
    const init = isInitPacket(report);
    const cmd = report[4] & 0x7f;
    if (cid === 0) return this.sendError(cid, H.ERR_INVALID_CHANNEL);

    if (init && cmd === H.CMD_INIT) return this.onInit(cid, report);
    if (!this.channels.has(cid)) {
      if (init) this.sendError(cid, H.ERR_INVALID_CHANNEL);
      return;
    }
    if (init && cmd === H.CMD_CANCEL) {
      // No response of its own; the cancelled request answers KEEPALIVE_CANCEL (§11.2.9.1.5).
      if (this.busy?.cid === cid) this.busy.abort.abort();
      return;
    }
    if (this.busy) {
      if (init) this.sendError(cid, H.ERR_CHANNEL_BUSY);
      return;
    }
    let entry = this.partial.get(cid);
    if (!entry) {
      if (!init) return; // stray continuation: nothing to continue
      entry = { reasm: new Reassembler(cid), timer: this.messageTimer(cid) };
      this.partial.set(cid, entry);
    }
    let r;
    try {
      r = entry.reasm.push(report);
    } catch (err) {
      this.dropPartial(cid);
      const kind = err instanceof FramingError ? err.kind : 'bad-seq';
      return this.sendError(
        cid,
        kind === 'oversize' || kind === 'bad-length' ? H.ERR_INVALID_LEN : H.ERR_INVALID_SEQ,
      );
    }
    if (r.status !== 'complete') return;
    this.dropPartial(cid);
    this.dispatch(cid, r.cmd, r.payload);
  }

  private messageTimer(cid: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.dropPartial(cid);
      this.sendError(cid, H.ERR_MSG_TIMEOUT);
    }, this.opts.messageTimeoutMs);
    t.unref();
    return t;
  }

  private dropPartial(cid: number): void {
    const p = this.partial.get(cid);
    if (p) clearTimeout(p.timer);
    this.partial.delete(cid);
  }

  // §11.2.9.1.3 CTAPHID_INIT: on the broadcast channel allocates a channel, on an allocated
  // channel resynchronizes it (abandoning whatever it was doing).
  private onInit(cid: number, report: Buffer): void {
    const len = report.readUInt16BE(5);
    if (len !== 8) return this.sendError(cid, H.ERR_INVALID_LEN);
    const nonce = report.subarray(7, 15);
    let newCid = cid;
    if (cid === H.BROADCAST_CID) {
      newCid = this.nextCid++;
      this.channels.add(newCid);
    } else if (!this.channels.has(cid)) {
      return this.sendError(cid, H.ERR_INVALID_CHANNEL);
    } else {
      this.dropPartial(cid);
      if (this.busy?.cid === cid) {
        this.busy.abort.abort();
        this.busy = null;
      }
    }
    const resp = Buffer.alloc(17);
    nonce.copy(resp, 0);
    resp.writeUInt32BE(newCid, 8);
    resp[12] = 2; // CTAPHID protocol version
    [resp[13], resp[14], resp[15]] = this.opts.version;
    resp[16] =
      H.CAPABILITY_WINK |
      (this.opts.ctap1Only ? 0 : H.CAPABILITY_CBOR) |
      (this.opts.msg ? 0 : H.CAPABILITY_NMSG);
    this.send(cid, H.CMD_INIT, resp);
  }

  private dispatch(cid: number, cmd: number, payload: Buffer): void {
    switch (cmd) {
      case H.CMD_PING:
        return this.send(cid, H.CMD_PING, payload);
      case H.CMD_WINK:
        this.emit('wink');
        return this.send(cid, H.CMD_WINK, Buffer.alloc(0));
      case H.CMD_CBOR: {
        if (this.opts.ctap1Only) return this.sendError(cid, H.ERR_INVALID_CMD);
        if (payload.length === 0) return this.sendError(cid, H.ERR_INVALID_LEN);
        const busy = { cid, abort: new AbortController() };
        this.busy = busy;
        const io = {
          signal: busy.abort.signal,
          keepalive: (status: number) => {
            if (this.busy === busy) this.send(cid, H.CMD_KEEPALIVE, Buffer.from([status]));
          },
        };
        this.handler
          .handle(payload, io)
          .catch(() => Buffer.from([0x7f]))
          .then((resp) => {
            if (this.busy !== busy) return; // resynchronized or unplugged meanwhile
            this.busy = null;
            this.send(cid, H.CMD_CBOR, resp);
          });
        return;
      }
      case H.CMD_MSG: {
        const msg = this.opts.msg;
        if (!msg) return this.sendError(cid, H.ERR_INVALID_CMD);
        const busy = { cid, abort: new AbortController() };
        this.busy = busy;
        msg
          .handle(payload)
          .catch(() => Buffer.from([0x6f, 0x00])) // SW "no precise diagnosis"
          .then((resp) => {
            if (this.busy !== busy) return;
            this.busy = null;
            this.send(cid, H.CMD_MSG, resp);
          });
        return;
      }
      default:
        // LOCK is not implemented by the virtual key.
        return this.sendError(cid, H.ERR_INVALID_CMD);
    }
  }
}
