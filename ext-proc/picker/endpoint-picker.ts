// The endpoint picker: for a call to a model, the instance that should serve it — chosen from
// the model's pool as Envoy sees it (PoolView), by each instance's load (LoadScraper) and where
// the prompt's prefix was last sent (PrefixIndex) — or nothing, and Envoy balances as it would
// without a picker. The processor puts the choice in the call's dynamic metadata, which the
// model cluster's override-host policy reads (no client can set it).
//
// When every instance of the pool is saturated, a call waits here instead of in a server's own
// queue (FairQueue: by priority, fair between tenants), and is placed as soon as the next read
// of the instances' metrics shows room; a sheddable call is refused at once, a full queue refuses
// (or a critical call pushes out the standard call that would be served last), and no call waits
// longer than the bound. Refused calls get a 429 with Retry-After from the processor.
import { FairQueue, type Priority, type Waiter } from './fair-queue.js';
import { LoadScraper } from './load-scraper.js';
import { pick, type PickWeights } from './pick.js';
import { PoolView, type PoolEndpoint } from './pool-view.js';
import { PrefixIndex, prefixBlocks, type PrefixOptions } from './prefix-index.js';

export interface PickerConfig {
  readonly xds: string;
  readonly nodeId: string;
  readonly scrapeIntervalMs: number;
  readonly metricsPath: string;
  readonly maxPools: number;
  readonly maxEndpoints: number;
  readonly prefix: PrefixOptions;
  readonly weights: PickWeights;
  /** Calls waiting per pool; 0: none wait (a saturated pool's calls go to its least loaded instance). */
  readonly queueLength: number;
  /** The longest a call waits for room. */
  readonly queueMaxWaitMs: number;
}

export interface Caller {
  readonly priority: Priority;
  readonly tenant: string;
  /** ≥ 1: the tenant's share of a saturated pool against others of its priority. */
  readonly weight: number;
}

export type RefusedWhy = 'sheddable' | 'queue_full' | 'pushed_out' | 'waited_too_long';

export type Placement =
  | { readonly kind: 'placed'; readonly address: string; readonly reason: 'prefix' | 'load' | 'saturated'; readonly waitedMs: number }
  /** No fresh metrics: Envoy's balancing. */
  | { readonly kind: 'envoy' }
  | { readonly kind: 'refused'; readonly why: RefusedWhy };

export interface PickerStats {
  picks(reason: 'prefix' | 'load' | 'saturated' | 'none'): void;
  queued(caller: Caller): void;
  waited(caller: Caller, seconds: number): void;
  refused(caller: Caller, why: RefusedWhy): void;
}

interface Pending extends Waiter {
  readonly caller: Caller;
  readonly blocks: readonly string[];
  readonly settle: (p: Placement) => void;
  timer: NodeJS.Timeout | undefined;
}

export class EndpointPicker {
  private readonly view: PoolView;
  private readonly scraper: LoadScraper;
  private readonly prefixes: PrefixIndex;
  private readonly inFlight = new Map<string, number>();
  private readonly queues = new Map<string, FairQueue<Pending>>();

  constructor(private readonly c: PickerConfig, private readonly stats: PickerStats, onError: (message: string) => void, private readonly now: () => number = Date.now) {
    this.scraper = new LoadScraper({ intervalMs: c.scrapeIntervalMs, maxEndpoints: c.maxEndpoints, maxBytes: 1 << 20, path: c.metricsPath }, now, () => this.dispatch());
    // The scraper reads the endpoints of every watched pool, from the moment they are known.
    this.view = new PoolView({ xds: c.xds, nodeId: c.nodeId, maxPools: c.maxPools, onError, onChange: () => this.scraper.setEndpoints(this.view.addresses()) });
    this.prefixes = new PrefixIndex(c.prefix.maxEntries);
  }

  /** The models of a new table: their pools are watched from now on. */
  watch(models: Iterable<string>): void {
    this.view.watch(models);
  }

  /**
   * Where a call of `model` with this prompt goes: an endpoint, Envoy's choice, or a refusal —
   * at once, or (the pool saturated) when there is room. `onQueued` gets how to take the call
   * out of the queue should its caller leave.
   */
  place(model: string, prompt: string, caller: Caller, onQueued: (cancel: () => void) => void = () => undefined): Placement | Promise<Placement> {
    const pool = this.view.pool(model);
    if (!pool?.length) return this.envoy();
    const blocks = prefixBlocks(prompt, this.c.prefix);
    const picked = this.choose(pool, blocks);
    if (!picked) return this.envoy();
    // Room (or no queue to wait in), and nobody waiting before this call: it goes now — unless
    // its prefix is on a saturated instance it may wait a little for.
    const mustWait = (picked.reason === 'saturated' || this.holds(picked, 0)) && this.c.queueLength > 0;
    if (!mustWait && !this.queues.get(model)?.length) return this.commit(picked.address, picked.reason, blocks, 0);
    if (caller.priority === 'sheddable') return this.refuse(caller, 'sheddable');
    const queue = this.queueOf(model);
    return new Promise<Placement>((resolve) => {
      const pending: Pending = {
        priority: caller.priority === 'critical' ? 'critical' : 'standard',
        tenant: caller.tenant,
        weight: caller.weight,
        enqueuedAt: this.now(),
        caller,
        blocks,
        timer: undefined,
        settle: (p) => {
          clearTimeout(pending.timer);
          if (p.kind === 'placed') this.stats.waited(caller, p.waitedMs / 1000);
          resolve(p);
        },
      };
      const out = queue.push(pending);
      if (out === pending) return resolve(this.refuse(caller, 'queue_full'));
      if (out) out.settle(this.refuse(out.caller, 'pushed_out'));
      this.stats.queued(caller);
      pending.timer = setTimeout(() => {
        if (queue.remove(pending)) pending.settle(this.refuse(caller, 'waited_too_long'));
      }, this.c.queueMaxWaitMs);
      onQueued(() => {
        if (queue.remove(pending)) clearTimeout(pending.timer);
      });
    });
  }

  /** The call sent to `address` is over: its place goes to the next waiting call, if any. */
  done(address: string): void {
    const n = (this.inFlight.get(address) ?? 1) - 1;
    if (n > 0) this.inFlight.set(address, n);
    else this.inFlight.delete(address);
    this.scraper.ended(address);
    if (this.queues.size) this.dispatch();
  }

  /** Calls waiting, per model and priority (for the metrics). */
  waiting(): Array<{ model: string; priority: 'critical' | 'standard'; count: number }> {
    return [...this.queues].flatMap(([model, q]) => (['critical', 'standard'] as const).map((priority) => ({ model, priority, count: q.count(priority) })));
  }

  status(): Record<string, unknown> {
    return {
      xds: this.c.xds,
      connected: this.view.connected,
      pools_watched: this.view.watched,
      endpoints_read: this.scraper.endpoints,
      scrapes: this.scraper.scrapes,
      scrape_failures: this.scraper.failures,
      in_flight: Object.fromEntries(this.inFlight),
      // Each instance's batch size as it showed it (null: not yet), what --picker-full-batch counts a full batch by.
      batch_sizes: Object.fromEntries([...this.view.addresses()].map((a) => [a, this.scraper.loadOf(a).capacity ?? null])),
      queue: { max_length: this.c.queueLength, max_wait_ms: this.c.queueMaxWaitMs, waiting: Object.fromEntries([...this.queues].map(([m, q]) => [m, q.length])) },
    };
  }

  close(): void {
    this.view.close();
    this.scraper.close();
    for (const q of this.queues.values()) for (let p = q.shift(); p; p = q.shift()) p.settle({ kind: 'envoy' });
  }

  private queueOf(model: string): FairQueue<Pending> {
    let q = this.queues.get(model);
    if (!q) this.queues.set(model, (q = new FairQueue<Pending>(this.c.queueLength)));
    return q;
  }

  private choose(pool: readonly PoolEndpoint[], blocks: readonly string[]): ReturnType<typeof pick> {
    const candidates = pool.map((e) => ({ address: e.address, priority: e.priority, healthy: e.healthy, ...this.scraper.loadOf(e.address) }));
    return pick(candidates, this.prefixes.matches(blocks), blocks.length, this.c.weights);
  }

  private commit(address: string, reason: 'prefix' | 'load' | 'saturated', blocks: readonly string[], waitedMs: number): Placement {
    this.stats.picks(reason);
    if (blocks.length) this.prefixes.record(blocks, address);
    this.scraper.sent(address);
    this.inFlight.set(address, (this.inFlight.get(address) ?? 0) + 1);
    return { kind: 'placed', address, reason, waitedMs };
  }

  private envoy(): Placement {
    this.stats.picks('none');
    return { kind: 'envoy' };
  }

  private refuse(caller: Caller, why: RefusedWhy): Placement {
    this.stats.refused(caller, why);
    return { kind: 'refused', why };
  }

  /** Whether a call that has waited `waitedMs` waits on for the saturated instance that holds its prefix. */
  private holds(picked: NonNullable<ReturnType<typeof pick>>, waitedMs: number): boolean {
    return picked.heldElsewhere === true && waitedMs < this.c.weights.affinityWaitMs;
  }

  /**
   * After each read of an instance's load, and each call's end: the waiting calls that have room
   * now go, in their turn. A call that waits on for its prefix's instance lets the next in turn
   * have the room (a call without a prefix anywhere, say), and keeps its place for its instance.
   */
  private dispatch(): void {
    for (const [model, q] of this.queues) {
      const pool = this.view.pool(model);
      // One pass in serving order: placing a call only fills instances, so a call held for its
      // prefix's instance stays held, and each call's choice is made after those before it.
      for (const waiting of q.ordered()) {
        const picked = pool?.length ? this.choose(pool, waiting.blocks) : undefined;
        if (picked?.reason === 'saturated') break;
        const waited = this.now() - waiting.enqueuedAt;
        if (picked && this.holds(picked, waited)) continue;
        q.remove(waiting, true);
        waiting.settle(picked ? this.commit(picked.address, picked.reason, waiting.blocks, waited) : this.envoy());
      }
      if (!q.length) this.queues.delete(model);
    }
  }
}
