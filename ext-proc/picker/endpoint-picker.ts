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
// longer than the bound. Refused calls get a 429 with Retry-After from the processor. A pool
// whose servers schedule by priority and preempt (vLLM's --scheduling-policy priority) gets each
// call's priority from here (pick.ts serverPriorityOf), and a call that would wait goes instead
// to an instance running a worse call, whose slot its server gives it.
import { FairQueue, type Priority, type Waiter } from './fair-queue.js';
import { LoadScraper } from './load-scraper.js';
import { pick, preemptable, serverPriorityOf, type Candidate, type PickWeights } from './pick.js';
import { PoolView, type PoolEndpoint } from './pool-view.js';
import { PrefixIndex, prefixBlocks, type PrefixOptions } from './prefix-index.js';
import { PriorityLedger } from './priority-ledger.js';

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

/** A call the picker placed, until its end is told (`done`). */
export interface PlacedCall {
  readonly model: string;
  readonly address: string;
  readonly tenant: string;
  /** The `priority` written into its body, for servers that schedule by it. */
  readonly serverPriority?: number;
}

export type Placement =
  | ({ readonly kind: 'placed'; readonly reason: 'prefix' | 'load' | 'saturated' | 'preempt'; readonly waitedMs: number } & PlacedCall)
  /** No fresh metrics: Envoy's balancing (with the call's server priority, for servers that schedule by it). */
  | { readonly kind: 'envoy'; readonly serverPriority?: number }
  | { readonly kind: 'refused'; readonly why: RefusedWhy };

export interface PickerStats {
  picks(reason: 'prefix' | 'load' | 'saturated' | 'preempt' | 'none'): void;
  queued(caller: Caller): void;
  waited(caller: Caller, seconds: number): void;
  refused(caller: Caller, why: RefusedWhy): void;
}

/** A call asking for a place: its model, its caller, its prompt's prefix blocks, and whether its pool's servers take a priority. */
interface Asking {
  readonly model: string;
  readonly caller: Caller;
  readonly blocks: readonly string[];
  readonly prioritized: boolean;
}

interface Pending extends Waiter, Asking {
  readonly settle: (p: Placement) => void;
  timer: NodeJS.Timeout | undefined;
}

export class EndpointPicker {
  private readonly view: PoolView;
  private readonly scraper: LoadScraper;
  private readonly prefixes: PrefixIndex;
  private readonly inFlight = new Map<string, number>();
  /** The calls in flight of pools whose servers take a priority. */
  private readonly priorities = new PriorityLedger();
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
   * out of the queue should its caller leave. `prioritized`: the model's servers schedule by a
   * `priority` each call carries, preempting: the placement says the call's, and a call that
   * would wait goes at once to an instance running a call of a worse one (the server preempts it).
   */
  place(model: string, prompt: string, caller: Caller, onQueued: (cancel: () => void) => void = () => undefined, prioritized = false): Placement | Promise<Placement> {
    const pool = this.view.pool(model);
    if (!pool?.length) return this.envoy({ model, caller, blocks: [], prioritized });
    const call: Asking = { model, caller, blocks: prefixBlocks(prompt, this.c.prefix), prioritized };
    const picked = this.choose(pool, call.blocks);
    if (!picked) return this.envoy(call);
    // Room (or no queue to wait in), and nobody waiting before this call: it goes now — unless
    // its prefix is on a saturated instance it may wait a little for.
    const mustWait = (picked.reason === 'saturated' || this.holds(picked, 0)) && this.c.queueLength > 0;
    if (!mustWait && !this.queues.get(model)?.length) return this.commit(call, picked.address, picked.reason, 0);
    // A sheddable call is refused first, never placed over another.
    if (caller.priority === 'sheddable') return this.refuse(caller, 'sheddable');
    if (prioritized) {
      const before = this.preemptFor(call, pool);
      if (before) return this.commit(call, before, 'preempt', 0);
    }
    const queue = this.queueOf(model);
    return new Promise<Placement>((resolve) => {
      const pending: Pending = {
        ...call,
        priority: caller.priority === 'critical' ? 'critical' : 'standard',
        tenant: caller.tenant,
        weight: caller.weight,
        enqueuedAt: this.now(),
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

  /** The call placed is over: its place goes to the next waiting call, if any. */
  done(call: PlacedCall): void {
    const { address } = call;
    const n = (this.inFlight.get(address) ?? 1) - 1;
    if (n > 0) this.inFlight.set(address, n);
    else this.inFlight.delete(address);
    if (call.serverPriority !== undefined) this.priorities.remove(call.model, call.tenant, address, call.serverPriority);
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
    return pick(this.candidatesOf(pool), this.prefixes.matches(blocks), blocks.length, this.c.weights);
  }

  /** The pool's endpoints with the load the picker knows of each. */
  private candidatesOf(pool: readonly PoolEndpoint[]): Candidate[] {
    return pool.map((e) => ({ address: e.address, priority: e.priority, healthy: e.healthy, ...this.scraper.loadOf(e.address) }));
  }

  private commit(call: Asking, address: string, reason: 'prefix' | 'load' | 'saturated' | 'preempt', waitedMs: number): Placement {
    this.stats.picks(reason);
    if (call.blocks.length) this.prefixes.record(call.blocks, address);
    this.scraper.sent(address);
    this.inFlight.set(address, (this.inFlight.get(address) ?? 0) + 1);
    const placed = { kind: 'placed', model: call.model, address, tenant: call.caller.tenant, reason, waitedMs } as const;
    if (!call.prioritized) return placed;
    const serverPriority = this.serverPriorityOf(call);
    this.priorities.add(call.model, call.caller.tenant, address, serverPriority);
    return { ...placed, serverPriority };
  }

  /** A call's server priority now: its tier, then its tenant's calls in flight in the pool over its weight. */
  private serverPriorityOf(call: Asking): number {
    return serverPriorityOf(call.caller.priority, this.priorities.tenantCalls(call.model, call.caller.tenant), call.caller.weight);
  }

  /** An instance of a saturated pool running a call of a worse server priority than this one would get. */
  private preemptFor(call: Asking, pool: readonly PoolEndpoint[]): string | undefined {
    if (this.priorities.empty) return undefined;
    const worst = new Map<string, number>();
    for (const e of pool) {
      const w = this.priorities.worstAt(e.address);
      if (w !== undefined) worst.set(e.address, w);
    }
    return preemptable(this.candidatesOf(pool), worst, this.serverPriorityOf(call), this.prefixes.matches(call.blocks));
  }

  /** Envoy balances the call: it is not counted, but still carries the priority its tenant's calls give it. */
  private envoy(call?: Asking): Placement {
    this.stats.picks('none');
    return call?.prioritized ? { kind: 'envoy', serverPriority: this.serverPriorityOf(call) } : { kind: 'envoy' };
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
        const waited = this.now() - waiting.enqueuedAt;
        if (picked?.reason === 'saturated') {
          // Servers that preempt: a worse call running somewhere gives this one its slot.
          const before = waiting.prioritized && pool ? this.preemptFor(waiting, pool) : undefined;
          if (!before) break;
          q.remove(waiting, true);
          waiting.settle(this.commit(waiting, before, 'preempt', waited));
          continue;
        }
        if (picked && this.holds(picked, waited)) continue;
        q.remove(waiting, true);
        waiting.settle(picked ? this.commit(waiting, picked.address, picked.reason, waited) : this.envoy(waiting));
      }
      if (!q.length) this.queues.delete(model);
    }
  }
}
