// Coalesces the increments asked for in one turn of the event loop (flushed with setImmediate:
// after libuv has handed over every request that arrived together, not after each one):
//   - increments of the same counter become one, of their sum, and each caller gets its own
//     exact count back — the counter after its hits, as if applied one by one in the order
//     asked — so a hot counter (a per-tenant or per-route limit) costs one increment per turn;
//   - all counters of the turn go out in one call (one per group: a Redis Cluster hash slot).
// No count is approximated.
export type SendBatch = (keys: string[], hits: number[], ttlSeconds: number[]) => Promise<number[]>;

interface Waiter {
  readonly hits: number;
  readonly resolve: (after: number) => void;
  readonly reject: (err: unknown) => void;
}

interface Pending {
  total: number;
  ttlSeconds: number;
  readonly waiters: Waiter[];
}

export class IncrementBatcher {
  private pending = new Map<string, Pending>();
  private scheduled = false;

  /** `groupOf` says which keys may travel in one call (all of them, on one Redis node). */
  constructor(
    private readonly send: SendBatch,
    private readonly groupOf: (key: string) => number = () => 0,
  ) {}

  increment(key: string, hits: number, ttlSeconds: number): Promise<number> {
    return new Promise((resolve, reject) => {
      let p = this.pending.get(key);
      if (!p) this.pending.set(key, (p = { total: 0, ttlSeconds, waiters: [] }));
      p.total += hits;
      if (ttlSeconds > p.ttlSeconds) p.ttlSeconds = ttlSeconds;
      p.waiters.push({ hits, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    const groups = new Map<number, Array<[string, Pending]>>();
    for (const entry of batch) {
      const g = this.groupOf(entry[0]);
      const list = groups.get(g);
      if (list) list.push(entry);
      else groups.set(g, [entry]);
    }
    for (const entries of groups.values()) {
      this.send(
        entries.map((e) => e[0]),
        entries.map((e) => e[1].total),
        entries.map((e) => e[1].ttlSeconds),
      ).then(
        (afters) => {
          entries.forEach(([, p], i) => {
            // The counter was (after - total) before this batch; hand out positions in order.
            let running = afters[i]! - p.total;
            for (const w of p.waiters) {
              running += w.hits;
              w.resolve(running);
            }
          });
        },
        (err: unknown) => {
          for (const [, p] of entries) for (const w of p.waiters) w.reject(err);
        },
      );
    }
  }
}
