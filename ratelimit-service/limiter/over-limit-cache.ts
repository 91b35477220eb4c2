// Counters known to be over their limit until their window ends: answered locally, without a
// round trip, as envoyproxy/ratelimit's local cache does. Bounded in size.
export class OverLimitCache {
  private readonly until = new Map<string, number>();

  constructor(private readonly maxEntries = 100_000) {}

  /** Until when the counter is known to be over (ms), or undefined. */
  overUntil(key: string, nowMs: number): number | undefined {
    const t = this.until.get(key);
    if (t === undefined) return undefined;
    if (t > nowMs) return t;
    this.until.delete(key);
    return undefined;
  }

  remember(key: string, untilMs: number): void {
    if (this.until.size >= this.maxEntries) this.sweep(Date.now());
    if (this.until.size >= this.maxEntries) this.until.delete(this.until.keys().next().value!);
    this.until.set(key, untilMs);
  }

  sweep(nowMs: number): void {
    for (const [k, t] of this.until) if (t <= nowMs) this.until.delete(k);
  }

  get size(): number {
    return this.until.size;
  }
}
