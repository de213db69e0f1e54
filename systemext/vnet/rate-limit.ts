// At most one event per key per interval, with a bounded memory of keys: used so a peer cannot
// flood the UI with "no such app" notices by querying many or the same names.

export class PerKeyRateLimit {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number,
  ) {}

  /** True if `key` may fire now (and records it); false within the interval or when memory is full. */
  allow(key: string): boolean {
    const t = this.now();
    const prev = this.last.get(key);
    if (prev !== undefined && t - prev < this.intervalMs) return false;
    this.last.delete(key);
    if (this.last.size >= this.maxKeys) {
      // Keys are in firing order: drop those whose interval is over.
      for (const [k, at] of this.last) {
        if (t - at < this.intervalMs) break;
        this.last.delete(k);
      }
      if (this.last.size >= this.maxKeys) return false; // a burst of new names: stay quiet
    }
    this.last.set(key, t);
    return true;
  }
}

/**
 * A token bucket: `perSecond` tokens a second, at most `burst` saved. Bounds how many ICMP errors a
 * peer can make us send (Linux's own defaults: 1000/s, burst 50).
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.at = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) * this.perSecond) / 1000);
    this.at = t;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
