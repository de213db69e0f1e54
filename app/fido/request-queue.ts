// The one place that serialises requests per security key, and the list of them the UI shows.
//
// Every operation on a key (sign, enrol, PIN change, …) enters its key's lane here and waits for the
// requests ahead of it; one runs at a time, so a key never blinks for two requests and a PIN
// exchange never interleaves with another request. The UI lists what is waiting (list(), 'change')
// and can cancel any request (cancel(id)): a queued one leaves at once, an active one aborts (the
// transport sends CTAPHID_CANCEL and its prompt closes). The per-request timeout starts when the
// request reaches the key, not while it waits in the queue.

import { EventEmitter } from 'node:events';
import { FidoError, type OperationContext, type Purpose } from './api';
import { SerialChain } from './serial';

export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;

export interface RequestInfo {
  id: number;
  keyLabel: string;
  purpose: Purpose;
  /** 'queued': waiting behind another request on the same key; 'active': at the key now. */
  state: 'queued' | 'active';
}

/** What a request's code gets when its turn comes. */
export interface ActiveRequest {
  id: number;
  /** Aborts on the caller's signal, cancel(id), or the timeout. */
  signal: AbortSignal;
}

interface Entry {
  info: RequestInfo;
  abort: AbortController;
}

/** Events: 'change' () whenever a request is added, starts, or ends. */
export class RequestQueue extends EventEmitter {
  private readonly lanes = new WeakMap<object, SerialChain>();
  private readonly entries = new Map<number, Entry>();
  private nextId = 1;

  /** Requests waiting or running, oldest first. */
  list(): RequestInfo[] {
    return [...this.entries.values()].map((e) => ({ ...e.info }));
  }

  /**
   * An id for a prompt that waits outside the queue (no key yet: "Insert your security key"), from
   * the same counter, so the UI's cancel-by-id never mistakes one for a queued request.
   */
  reserveId(): number {
    return this.nextId++;
  }

  /** Cancel a request (from the UI); false when it is already over. */
  cancel(id: number): boolean {
    const e = this.entries.get(id);
    if (!e) return false;
    e.abort.abort(new FidoError('cancelled', 'The request was cancelled.'));
    return true;
  }

  /**
   * Run `fn` when the requests ahead of it on `lane` (the security key) are done. Rejects at once
   * when aborted while queued; an abort while active reaches `fn` through its signal.
   */
  run<T>(
    lane: object,
    keyLabel: string,
    ctx: OperationContext,
    fn: (req: ActiveRequest) => Promise<T>,
  ): Promise<T> {
    let chain = this.lanes.get(lane);
    if (!chain) this.lanes.set(lane, (chain = new SerialChain()));
    const id = this.nextId++;
    const abort = new AbortController();
    const entry: Entry = { info: { id, keyLabel, purpose: ctx.purpose, state: 'queued' }, abort };
    const onCallerAbort = (): void => abort.abort(new FidoError('cancelled', 'The operation was cancelled.'));
    if (ctx.signal?.aborted) onCallerAbort();
    else ctx.signal?.addEventListener('abort', onCallerAbort, { once: true });
    this.entries.set(id, entry);
    this.emit('change');

    const end = (): void => {
      ctx.signal?.removeEventListener('abort', onCallerAbort);
      if (this.entries.delete(id)) this.emit('change');
    };
    const reason = (): Error => abort.signal.reason as Error;

    return new Promise<T>((resolve, reject) => {
      // Leave the queue at once when aborted before our turn.
      const onQueuedAbort = (): void => {
        end();
        reject(reason());
      };
      abort.signal.addEventListener('abort', onQueuedAbort, { once: true });
      void chain.run(async () => {
        abort.signal.removeEventListener('abort', onQueuedAbort);
        if (abort.signal.aborted) return; // already rejected; the next request moves up
        entry.info.state = 'active';
        this.emit('change');
        const timeoutMs = ctx.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
        const timer = setTimeout(
          () =>
            abort.abort(
              new FidoError(
                'timeout',
                `The security key request did not finish within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}.`,
              ),
            ),
          timeoutMs,
        );
        try {
          resolve(await fn({ id, signal: abort.signal }));
        } catch (err) {
          // Cancelled by the UI or the timeout: say that, not the transport's "cancelled".
          reject(abort.signal.aborted ? reason() : err);
        } finally {
          clearTimeout(timer);
          end();
        }
      });
    });
  }
}

/** The queue of the agent process: every key opened without an explicit queue uses it. */
export const requestQueue = new RequestQueue();
