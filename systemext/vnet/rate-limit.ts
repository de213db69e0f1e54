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
