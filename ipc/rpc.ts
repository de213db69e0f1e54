// One end of the agent–daemon connection: JSON-RPC (vscode-jsonrpc) over a Unix socket, with what a
// root daemon needs on top: a bound on frame size (FrameGuard), on requests in flight, a deadline on
// every request, validation of every message against ipc/messages.ts, cancellation mapped to
// AbortSignals, and liveness pings. Used by both sides; nothing here knows which side it is.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import {
  CancellationTokenSource,
  createMessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  type CancellationToken,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { z } from 'zod';
import { FrameGuard } from './frame-guard';
import {
  ErrorCodes,
  Notifications,
  Requests,
  type NotificationMethod,
  type ParamsOf,
  type RequestMethod,
  type ResultOf,
} from './messages';

export const DEFAULT_MAX_FRAME_BYTES = 1 << 20;

export type RpcLog = (level: 'info' | 'warn' | 'error', msg: string) => void;

export interface RpcPeerOptions {
  /** For log lines: who is at the other end ("agent pid 123", "daemon"). */
  peerName: string;
  maxFrameBytes?: number;
  /** Requests from the peer handled at once; more get a Busy error (default 64). */
  maxInFlight?: number;
  /** Default deadline of our requests (default 10 s); per request with `timeoutMs`. */
  requestTimeoutMs?: number;
  /** A frame started but not finished within this closes the peer (default 5 s). */
  partialFrameTimeoutMs?: number;
  log?: RpcLog;
}

/** A request failed at the other end (or here: timeout, closed connection), with a code and reason. */
export class RpcError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** An error for a handler to throw: the peer gets this code and reason (default: Failed). */
export function rpcFailure(message: string, reason: string, code: number = ErrorCodes.Failed): RpcError {
  return new RpcError(message, code, reason);
}

type Handler<M extends RequestMethod> = (params: ParamsOf<M>, signal: AbortSignal) => Promise<ResultOf<M>>;

export class RpcPeer extends EventEmitter<{ close: [reason: string] }> {
  private readonly conn: MessageConnection;
  private readonly opts: Required<Omit<RpcPeerOptions, 'log'>> & { log: RpcLog };
  private inFlight = 0;
  private closedReason: string | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  /** Requests we sent that are not answered yet, so close() can fail them at once. */
  private readonly pending = new Set<CancellationTokenSource>();

  constructor(
    readonly socket: Socket,
    options: RpcPeerOptions,
  ) {
    super();
    this.opts = {
      maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
      maxInFlight: 64,
      requestTimeoutMs: 10_000,
      partialFrameTimeoutMs: 5_000,
      log: () => {},
      ...options,
    };
    const guard = new FrameGuard(this.opts.maxFrameBytes);
    const input = new PassThrough();
    socket.on('data', (chunk: Buffer) => {
      try {
        guard.check(chunk);
      } catch (err) {
        this.close(`protocol error: ${(err as Error).message}`);
        return;
      }
      input.write(chunk);
    });
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close('connection closed'));
    const reader = new StreamMessageReader(input);
    reader.partialMessageTimeout = this.opts.partialFrameTimeoutMs;
    reader.onPartialMessage(() => this.close('protocol error: a frame was left unfinished'));
    this.conn = createMessageConnection(reader, new StreamMessageWriter(socket));
    this.conn.onError(([err]) => this.close(`protocol error: ${err.message}`));
    this.conn.onClose(() => this.close('connection closed'));
    this.conn.onUnhandledNotification((n) =>
      this.opts.log('warn', `${this.opts.peerName}: unknown notification ${n.method}`),
    );
    this.handle('ping', async () => ({}));
    this.conn.listen();
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  /** Serves `method`: params are validated first; a thrown ResponseError goes back as is. */
  handle<M extends RequestMethod>(method: M, handler: Handler<M>): void {
    const schema = Requests[method].params as z.ZodType;
    this.conn.onRequest(method, async (raw: unknown, token: CancellationToken) => {
      if (this.inFlight >= this.opts.maxInFlight)
        return new ResponseError(ErrorCodes.Busy, `too many requests in flight (${this.opts.maxInFlight})`, {
          reason: 'busy',
        });
      const parsed = schema.safeParse(raw ?? {});
      if (!parsed.success) {
        return new ResponseError(ErrorCodes.Failed, `invalid ${method} params: ${issueText(parsed.error)}`, {
          reason: 'invalid-params',
        });
      }
      const ac = new AbortController();
      const sub = token.onCancellationRequested(() =>
        ac.abort(new RpcError('cancelled by the peer', ErrorCodes.Cancelled, 'cancelled')),
      );
      this.inFlight++;
      try {
        return await handler(parsed.data as ParamsOf<M>, ac.signal);
      } catch (err) {
        if (err instanceof ResponseError) return err;
        if (err instanceof RpcError) return new ResponseError(err.code, err.message, { reason: err.reason });
        return new ResponseError(ErrorCodes.Failed, (err as Error).message ?? String(err), {
          reason: 'error',
        });
      } finally {
        this.inFlight--;
        sub.dispose();
      }
    });
  }

  /** Sends a request; the result is validated. Rejects with RpcError on error, timeout, abort or close. */
  async request<M extends RequestMethod>(
    method: M,
    params: ParamsOf<M>,
    opts: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<ResultOf<M>> {
    if (this.closedReason !== null)
      throw new RpcError(
        `${method}: not connected (${this.closedReason})`,
        ErrorCodes.Cancelled,
        'disconnected',
      );
    opts.signal?.throwIfAborted();
    const cts = new CancellationTokenSource();
    this.pending.add(cts);
    const timeoutMs = opts.timeoutMs ?? this.opts.requestTimeoutMs;
    let why: RpcError | null = null;
    const stop = (e: RpcError): void => {
      why ??= e;
      cts.cancel();
    };
    const timer = setTimeout(
      () =>
        stop(
          new RpcError(
            `${method}: no answer from ${this.opts.peerName} within ${timeoutMs} ms`,
            ErrorCodes.Cancelled,
            'timeout',
          ),
        ),
      timeoutMs,
    );
    const onAbort = (): void => stop(new RpcError(`${method}: cancelled`, ErrorCodes.Cancelled, 'cancelled'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // vscode-jsonrpc resolves a cancelled request only when the peer answers; we answer at once.
    const cancelled = new Promise<never>((_, reject) => {
      cts.token.onCancellationRequested(() =>
        reject(why ?? new RpcError(`${method}: connection closed`, ErrorCodes.Cancelled, 'disconnected')),
      );
    });
    try {
      const raw = await Promise.race([this.conn.sendRequest(method, params, cts.token), cancelled]);
      const parsed = (Requests[method].result as z.ZodType).safeParse(raw);
      if (!parsed.success)
        throw new RpcError(
          `${method}: invalid answer from ${this.opts.peerName}: ${issueText(parsed.error)}`,
          ErrorCodes.Failed,
          'invalid-result',
        );
      return parsed.data as ResultOf<M>;
    } catch (err) {
      if (err instanceof RpcError) throw err;
      if (err instanceof ResponseError) {
        const reason = (err.data as { reason?: unknown } | undefined)?.reason;
        throw new RpcError(err.message, err.code, typeof reason === 'string' ? reason : 'error');
      }
      throw new RpcError(`${method}: ${(err as Error).message}`, ErrorCodes.Failed, 'error');
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      this.pending.delete(cts);
      cts.dispose();
    }
  }

  notify<N extends NotificationMethod>(method: N, params: z.infer<(typeof Notifications)[N]>): void {
    if (this.closedReason !== null) return;
    this.conn.sendNotification(method, params).catch(() => {});
  }

  onNotification<N extends NotificationMethod>(
    method: N,
    handler: (params: z.infer<(typeof Notifications)[N]>) => void,
  ): void {
    this.conn.onNotification(method, (raw: unknown) => {
      const parsed = (Notifications[method] as z.ZodType).safeParse(raw);
      if (!parsed.success) {
        this.opts.log(
          'warn',
          `${this.opts.peerName}: invalid ${method} notification: ${issueText(parsed.error)}`,
        );
        return;
      }
      handler(parsed.data as z.infer<(typeof Notifications)[N]>);
    });
  }

  /**
   * Pings the peer every `intervalMs`; when a ping is not answered within `deadMs`, the peer is taken
   * for dead and the connection closed (a stopped process keeps its socket open).
   */
  startLiveness(intervalMs = 1000, deadMs = 3000): void {
    const tick = (): void => {
      if (this.closed) return;
      this.request('ping', {}, { timeoutMs: deadMs }).catch((err: RpcError) => {
        if (!this.closed) this.close(`peer not answering (${err.message})`);
      });
    };
    this.pingTimer = setInterval(tick, intervalMs);
  }

  /** Closes the connection (idempotent); pending requests fail at once; 'close' is emitted once. */
  close(reason: string): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const cts of this.pending) cts.cancel();
    try {
      this.conn.dispose();
    } catch {
      /* already disposed */
    }
    this.socket.destroy();
    this.emit('close', reason);
  }

  get closeReason(): string | null {
    return this.closedReason;
  }
}

function issueText(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}
