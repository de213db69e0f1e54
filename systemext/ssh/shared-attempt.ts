// One session set-up shared by every dial that waits for it: concurrent first dials cost one
// signature (one touch). The set-up has its own deadline and is cancelled only when every waiting
// dial has given up; when it fails, every waiter fails at once with the same error.
import { abortError, sshError } from './errors';
import type { DialError } from '../vnet/dialer';

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: unknown): void;
}

export class SharedAttempt<T> {
  private readonly waiters = new Set<Waiter<T>>();
  private readonly ctrl = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private outcome: { ok: true; value: T } | { ok: false; error: unknown } | null = null;

  /**
   * Starts `run` now. `timeout` is the DialError for a set-up that outlives `timeoutMs`;
   * `onOrphan` receives a result nobody waits for any more (to close it).
   */
  constructor(
    run: (signal: AbortSignal) => Promise<T>,
    timeoutMs: number,
    timeout: () => DialError,
    private readonly onOrphan: (value: T) => void,
  ) {
    this.timer = setTimeout(() => this.ctrl.abort(timeout()), timeoutMs);
    run(this.ctrl.signal).then(
      (value) => this.settle({ ok: true, value }),
      (error: unknown) => this.settle({ ok: false, error }),
    );
  }

  get settled(): boolean {
    return this.outcome !== null;
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Waits for the set-up. If `signal` aborts, this waiter alone fails (CANCELLED or the signal's
   * DialError) and, if it was the last one, the set-up is aborted.
   */
  join(signal: AbortSignal, what: string): Promise<T> {
    if (this.outcome) {
      return this.outcome.ok ? Promise.resolve(this.outcome.value) : Promise.reject(this.outcome.error);
    }
    if (signal.aborted) return Promise.reject(abortError(signal, what));
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.delete(w);
        reject(abortError(signal, what));
        if (this.waiters.size === 0 && !this.outcome) {
          this.ctrl.abort(sshError('CANCELLED', `${what} was cancelled by every connection waiting for it`));
        }
      };
      const w: Waiter<T> = {
        resolve: (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        reject: (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      this.waiters.add(w);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Abandons the set-up: every waiter fails with `reason`. */
  abort(reason: DialError): void {
    if (!this.outcome) this.ctrl.abort(reason);
  }

  private settle(outcome: { ok: true; value: T } | { ok: false; error: unknown }): void {
    clearTimeout(this.timer);
    this.outcome = outcome;
    const waiters = [...this.waiters];
    this.waiters.clear();
    if (outcome.ok && waiters.length === 0) return this.onOrphan(outcome.value);
    for (const w of waiters) {
      if (outcome.ok) w.resolve(outcome.value);
      else w.reject(outcome.error);
    }
  }
}
