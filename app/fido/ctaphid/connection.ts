// The host side of CTAPHID (CTAP 2.1 §11.2): opens a channel on a report-level HID device and
// runs one request/response transaction at a time, handling KEEPALIVE, ERROR, CANCEL, timeouts
// and a key pulled out mid-operation. Framing itself is in ./framing (pure).

import { randomBytes } from 'node:crypto';
import { FidoError } from '../api';
import type { HidReportDevice } from '../hid/report-device';
import { SerialChain } from '../serial';
import {
  BROADCAST_CID,
  CAPABILITY_CBOR,
  CAPABILITY_NMSG,
  CAPABILITY_WINK,
  CMD_CANCEL,
  CMD_ERROR,
  CMD_INIT,
  CMD_KEEPALIVE,
  CMD_PING,
  CMD_WINK,
  ERR_CHANNEL_BUSY,
  hidErrorText,
} from './constants';
import { fragment, FramingError, Reassembler } from './framing';

export interface TransactOptions {
  signal?: AbortSignal;
  /** Called for each KEEPALIVE with its status (STATUS_PROCESSING / STATUS_UPNEEDED). */
  onKeepalive?: (status: number) => void;
  /** Give up when the key sends nothing at all (not even a keepalive) for this long. */
  idleTimeoutMs?: number;
  /** Hard cap on the whole transaction. */
  timeoutMs?: number;
}

export interface ConnectionOptions {
  /** Give up on a transaction when the key sends nothing for this long. */
  idleTimeoutMs?: number;
  /** Default cap on one transaction (a touch may take a while). */
  timeoutMs?: number;
  /** How long to wait for the key's answer after CTAPHID_CANCEL before giving up on it. */
  cancelGraceMs?: number;
  /** How long to keep retrying while another application keeps the key busy (ERR_CHANNEL_BUSY). */
  busyRetryMs?: number;
}

// Idle: keys send KEEPALIVE every 100 ms while busy, but not all do while waiting for a touch;
// 35 s outlasts the usual 30 s touch timeout of the key itself.
const DEFAULTS: Required<ConnectionOptions> = {
  idleTimeoutMs: 35_000,
  timeoutMs: 120_000,
  cancelGraceMs: 2_000,
  busyRetryMs: 5_000,
};

export interface InitInfo {
  cid: number;
  protocolVersion: number;
  deviceVersion: [number, number, number];
  capabilities: number;
}

function removedError(): FidoError {
  return new FidoError('device-removed', 'The security key was removed during the operation.');
}

interface Exchange {
  cid: number;
  cmd: number;
  payload: Uint8Array;
  /** Decide what to do with a complete message on `cid`: return a result, or undefined to keep waiting. */
  accept: (cmd: number, payload: Buffer) => Buffer | undefined;
  /** Framing errors during this exchange are skipped instead of failing it (INIT tolerates other apps). */
  tolerateFraming?: boolean;
}

export class CtapHidConnection {
  /** CTAPHID allows one transaction at a time per channel. */
  private readonly chain = new SerialChain();
  private needsResync = false;
  private readonly opts: Required<ConnectionOptions>;

  private constructor(
    readonly device: HidReportDevice,
    private init: InitInfo,
    opts: ConnectionOptions,
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** Allocate a channel with CTAPHID_INIT on the broadcast channel (§11.2.9.1.3). */
  static async open(device: HidReportDevice, opts: ConnectionOptions = {}): Promise<CtapHidConnection> {
    const o = { ...DEFAULTS, ...opts };
    const init = await held(device, () => runInit(device, BROADCAST_CID, o));
    return new CtapHidConnection(device, init, opts);
  }

  get cid(): number {
    return this.init.cid;
  }
  get capabilities(): number {
    return this.init.capabilities;
  }
  get supportsCbor(): boolean {
    return (this.init.capabilities & CAPABILITY_CBOR) !== 0;
  }
  /** NMSG means "no CTAPHID_MSG", i.e. no U2F/CTAP1. */
  get supportsMsg(): boolean {
    return (this.init.capabilities & CAPABILITY_NMSG) === 0;
  }
  get supportsWink(): boolean {
    return (this.init.capabilities & CAPABILITY_WINK) !== 0;
  }
  get initInfo(): InitInfo {
    return this.init;
  }

  /** Send one request and wait for its response; transactions are serialized. */
  transact(cmd: number, payload: Uint8Array, opts: TransactOptions = {}): Promise<Buffer> {
    return this.chain.run(() => held(this.device, () => this.runTransaction(cmd, payload, opts)));
  }

  ping(data: Uint8Array, opts: TransactOptions = {}): Promise<Buffer> {
    return this.transact(CMD_PING, data, opts);
  }

  async wink(opts: TransactOptions = {}): Promise<void> {
    await this.transact(CMD_WINK, Buffer.alloc(0), opts);
  }

  async close(): Promise<void> {
    await this.device.close();
  }

  private async runTransaction(cmd: number, payload: Uint8Array, opts: TransactOptions): Promise<Buffer> {
    if (this.device.closed) throw removedError();
    if (opts.signal?.aborted) throw new FidoError('cancelled', 'The operation was cancelled.');
    if (this.needsResync) {
      // A cancelled transaction may still answer later: INIT on our own channel discards it
      // (§11.2.9.1.3 "synchronize a channel").
      this.init = await runInit(this.device, this.cid, this.opts);
      this.needsResync = false;
    }
    // CHANNEL_BUSY means another application holds the key and our request was not run:
    // retrying is safe, for a while (libfido2 does the same).
    const busyDeadline = Date.now() + this.opts.busyRetryMs;
    for (;;) {
      try {
        return await exchange(
          this.device,
          {
            cid: this.cid,
            cmd,
            payload,
            accept: (rcmd, rpayload) => {
              if (rcmd === cmd) return rpayload;
              throw new FidoError(
                'protocol',
                `The security key answered command 0x${rcmd.toString(16)} to 0x${cmd.toString(16)}.`,
              );
            },
          },
          { ...this.opts, ...opts },
          () => {
            this.needsResync = true;
          },
        );
      } catch (err) {
        const busy = err instanceof HidTransportError && err.hidCode === ERR_CHANNEL_BUSY;
        if (!busy || Date.now() >= busyDeadline || opts.signal?.aborted || this.device.closed) {
          // Whatever ended this exchange early (ERROR, cancel, timeout, garbage), the key may still
          // answer it later: the next transaction resynchronizes first so that answer is not
          // taken for its own (libfido2 does the same).
          this.needsResync = true;
          throw err;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

/** Runs `fn` with the device held open (devices opened only while in use, see HidReportDevice). */
async function held<T>(device: HidReportDevice, fn: () => Promise<T>): Promise<T> {
  if (!device.hold) return fn();
  await device.hold();
  try {
    return await fn();
  } finally {
    device.release?.();
  }
}

async function runInit(
  device: HidReportDevice,
  cid: number,
  opts: Required<ConnectionOptions>,
): Promise<InitInfo> {
  const nonce = randomBytes(8);
  let lastBusy = false;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const resp = await exchange(
        device,
        {
          cid,
          cmd: CMD_INIT,
          payload: nonce,
          tolerateFraming: true,
          // Other applications may be initializing too: only our nonce counts.
          accept: (rcmd, p) =>
            rcmd === CMD_INIT && p.length >= 17 && p.subarray(0, 8).equals(nonce) ? p : undefined,
        },
        { ...opts, idleTimeoutMs: Math.min(opts.idleTimeoutMs, 5000), timeoutMs: 5000 },
        () => {},
      );
      const newCid = resp.readUInt32BE(8);
      if (newCid === 0 || newCid === BROADCAST_CID) {
        throw new FidoError('protocol', 'The security key allocated an invalid channel.');
      }
      return {
        cid: newCid,
        protocolVersion: resp[12],
        deviceVersion: [resp[13], resp[14], resp[15]],
        capabilities: resp[16],
      };
    } catch (err) {
      lastBusy = err instanceof HidTransportError && err.hidCode === ERR_CHANNEL_BUSY;
      if (!lastBusy) throw err;
    }
  }
  throw new FidoError('protocol', 'The security key is busy with another application.');
}

/** A CTAPHID_ERROR from the key, as a FidoError with the raw code kept for callers. */
export class HidTransportError extends FidoError {
  constructor(readonly hidCode: number) {
    super('protocol', `The security key reported a transport error: ${hidErrorText(hidCode)}.`);
  }
}

function exchange(
  device: HidReportDevice,
  ex: Exchange,
  opts: Required<ConnectionOptions> & TransactOptions,
  onCancelUnanswered: () => void,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const reasm = new Reassembler(ex.cid, { restartOnInit: true });
    let idleTimer: NodeJS.Timeout | null = null;
    let cancelTimer: NodeJS.Timeout | null = null;
    let cancelled = false;
    let done = false;

    const finish = (err: Error | null, value?: Buffer) => {
      if (done) return;
      done = true;
      device.off('report', onReport);
      device.off('removed', onRemoved);
      opts.signal?.removeEventListener('abort', onAbort);
      if (idleTimer) clearTimeout(idleTimer);
      if (cancelTimer) clearTimeout(cancelTimer);
      clearTimeout(hardTimer);
      if (err) reject(err);
      else resolve(value!);
    };
    const armIdle = () => {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        onCancelUnanswered();
        finish(new FidoError('timeout', 'The security key stopped responding.'));
      }, opts.idleTimeoutMs);
    };
    const hardTimer = setTimeout(() => {
      onCancelUnanswered();
      void device.write(fragment(ex.cid, CMD_CANCEL, Buffer.alloc(0))[0]).catch(() => {});
      finish(new FidoError('timeout', 'The security key did not finish the operation in time.'));
    }, opts.timeoutMs);

    const onRemoved = () => finish(removedError());
    const onAbort = () => {
      if (cancelled || done) return;
      cancelled = true;
      // CTAPHID_CANCEL has no response; the pending request should end with KEEPALIVE_CANCEL.
      void device.write(fragment(ex.cid, CMD_CANCEL, Buffer.alloc(0))[0]).catch(() => {});
      cancelTimer = setTimeout(() => {
        onCancelUnanswered();
        finish(new FidoError('cancelled', 'The operation was cancelled.'));
      }, opts.cancelGraceMs);
    };
    const onReport = (report: Buffer) => {
      let r;
      try {
        r = reasm.push(report);
      } catch (err) {
        if (ex.tolerateFraming) return;
        onCancelUnanswered();
        const msg = err instanceof FramingError ? err.message : String(err);
        finish(new FidoError('protocol', `Malformed data from the security key: ${msg}.`));
        return;
      }
      if (r.status === 'ignored') return;
      armIdle();
      if (r.status === 'partial') return;
      if (r.cmd === CMD_KEEPALIVE) {
        if (!cancelled && r.payload.length >= 1) {
          try {
            opts.onKeepalive?.(r.payload[0]);
          } catch {
            // A faulty UI callback must not break the transaction.
          }
        }
        return;
      }
      if (r.cmd === CMD_ERROR) {
        finish(new HidTransportError(r.payload[0] ?? 0x7f));
        return;
      }
      let result: Buffer | undefined;
      try {
        result = ex.accept(r.cmd, r.payload);
      } catch (err) {
        finish(err as Error);
        return;
      }
      if (result === undefined) return;
      if (cancelled) finish(new FidoError('cancelled', 'The operation was cancelled.'));
      else finish(null, result);
    };

    device.on('report', onReport);
    device.once('removed', onRemoved);
    opts.signal?.addEventListener('abort', onAbort);
    armIdle();

    let reports: Buffer[];
    try {
      reports = fragment(ex.cid, ex.cmd, ex.payload);
    } catch (err) {
      finish(new FidoError('protocol', (err as Error).message));
      return;
    }
    (async () => {
      for (const rep of reports) {
        if (done) return;
        await device.write(rep);
      }
    })().catch((err) => finish(err instanceof FidoError ? err : removedError()));
  });
}
