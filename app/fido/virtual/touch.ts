// Simulated user presence for the virtual authenticator: who "touches" the key and when.

import { EventEmitter } from 'node:events';

export type TouchPolicy =
  | { mode: 'auto'; afterMs?: number } // touched automatically (after a delay)
  | { mode: 'manual' } // waits for touch() / deny() (tests, the demo's "touch" button)
  | { mode: 'deny' } // the user refuses
  | { mode: 'never' }; // nobody touches: USER_ACTION_TIMEOUT after the timeout

export type TouchOutcome = 'touched' | 'denied' | 'timeout' | 'cancelled';

/**
 * Events: 'waiting' () when the key starts blinking, 'done' (outcome) when the wait ends.
 */
export class TouchController extends EventEmitter {
  private pending: ((o: TouchOutcome) => void) | null = null;

  constructor(
    public policy: TouchPolicy = { mode: 'auto', afterMs: 0 },
    public timeoutMs = 30_000,
    public keepaliveIntervalMs = 100,
  ) {
    super();
  }

  get waiting(): boolean {
    return this.pending !== null;
  }

  /** Touch the key now. Returns false when it was not waiting for a touch. */
  touch(): boolean {
    return this.settle('touched');
  }

  /** Refuse the pending request (as if the user declined). */
  deny(): boolean {
    return this.settle('denied');
  }

  private settle(o: TouchOutcome): boolean {
    if (!this.pending) return false;
    this.pending(o);
    return true;
  }

  /** Wait for a touch, calling `keepalive()` at once and then every keepaliveIntervalMs. */
  wait(signal: AbortSignal, keepalive: () => void): Promise<TouchOutcome> {
    // Only one request runs at a time (CTAPHID busy), so a wait still pending here is a U2F
    // background wait its client gave up on: the new request takes over the blinking.
    if (this.pending) this.pending('cancelled');
    if (signal.aborted) return Promise.resolve('cancelled');
    return new Promise<TouchOutcome>((resolve) => {
      const timers: NodeJS.Timeout[] = [];
      const end = (o: TouchOutcome) => {
        if (!this.pending) return;
        this.pending = null;
        timers.forEach((t) => clearTimeout(t));
        clearInterval(ticker);
        signal.removeEventListener('abort', onAbort);
        this.emit('done', o);
        resolve(o);
      };
      const onAbort = () => end('cancelled');
      this.pending = end;
      keepalive();
      const ticker = setInterval(keepalive, this.keepaliveIntervalMs);
      timers.push(setTimeout(() => end('timeout'), this.timeoutMs));
      signal.addEventListener('abort', onAbort);
      const p = this.policy;
      if (p.mode === 'auto') timers.push(setTimeout(() => end('touched'), p.afterMs ?? 0));
      if (p.mode === 'deny') timers.push(setTimeout(() => end('denied'), 0));
      this.emit('waiting');
    });
  }
}
