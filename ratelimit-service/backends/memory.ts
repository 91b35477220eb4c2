// Counters in this process: for one ratelimit-service, or tests. Expired counters are swept.
import type { CounterBackend, CounterOp, CounterResult } from './backend.js';

export class MemoryBackend implements CounterBackend {
  readonly name = 'memory';
  private readonly counters = new Map<string, { count: number; expiresAt: number }>();
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

  available(): boolean {
    return true;
  }

  private sweep(): void {
    const nowMs = this.now();
    for (const [k, c] of this.counters) if (c.expiresAt <= nowMs) this.counters.delete(k);
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    return Promise.resolve();
  }
}
