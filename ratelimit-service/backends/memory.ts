// Counters in this process: for one ratelimit-service, or tests. Expired counters are swept.
import type { CounterBackend, CounterOp, CounterResult, ReserveOp, ReserveResult, SettleOp } from './backend.js';

export class MemoryBackend implements CounterBackend {
  readonly name = 'memory';
  private readonly counters = new Map<string, { count: number; expiresAt: number }>();
  /** Open reservations by counter key: call id → hits. Gone with their counter. */
  private readonly reservations = new Map<string, Map<string, number>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), 10_000);
    this.sweeper.unref();
  }

  private read(key: string, nowMs: number): number {
    const c = this.counters.get(key);
    if (!c) return 0;
    if (c.expiresAt <= nowMs) {
      this.counters.delete(key);
      this.reservations.delete(key);
      return 0;
    }
    return c.count;
  }

  increment(ops: readonly CounterOp[]): Promise<CounterResult[]> {
    const nowMs = this.now();
    return Promise.resolve(
      ops.map((op) => {
        const after = this.read(op.key, nowMs) + op.hits;
        this.counters.set(op.key, { count: after, expiresAt: nowMs + op.ttlSeconds * 1000 });
        return { after, previous: op.previousKey ? this.read(op.previousKey, nowMs) : 0 };
      }),
    );
  }

  reserve(ops: readonly ReserveOp[]): Promise<ReserveResult> {
    const nowMs = this.now();
    const current = ops.map((op) => this.read(op.key, nowMs));
    if (ops.some((op, i) => current[i]! + op.hits > op.limit)) return Promise.resolve({ granted: false, counts: current });
    const counts = ops.map((op) => {
      const c = this.counters.get(op.key);
      if (c) c.count += op.hits;
      else this.counters.set(op.key, { count: op.hits, expiresAt: nowMs + op.ttlSeconds * 1000 });
      let open = this.reservations.get(op.key);
      if (!open) this.reservations.set(op.key, (open = new Map()));
      open.set(op.id, (open.get(op.id) ?? 0) + op.hits);
      return this.counters.get(op.key)!.count;
    });
    return Promise.resolve({ granted: true, counts });
  }

  settle(op: SettleOp): Promise<number | undefined> {
    const nowMs = this.now();
    for (const key of op.keys) {
      this.read(key, nowMs); // an expired counter goes, with its reservations
      const open = this.reservations.get(key);
      const reserved = open?.get(op.id);
      if (reserved === undefined) continue;
      open!.delete(op.id);
      const delta = op.charged - reserved;
      this.counters.get(key)!.count += delta;
      return Promise.resolve(delta);
    }
    return Promise.resolve(undefined);
  }

  available(): boolean {
    return true;
  }

  private sweep(): void {
    const nowMs = this.now();
    for (const [k, c] of this.counters)
      if (c.expiresAt <= nowMs) {
        this.counters.delete(k);
        this.reservations.delete(k);
      }
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    return Promise.resolve();
  }
}
