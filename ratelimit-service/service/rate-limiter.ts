// ShouldRateLimit, decided as envoyproxy/ratelimit decides it: for each descriptor its limit
// (configured, or Envoy's override), `replaces` applied across the request, unlimited answered
// locally, counters known to be over answered from the local cache (when it is on), everything
// else counted in one backend call, each descriptor by its own hits_addend. A limit's shadow
// mode turns its OVER_LIMIT into OK (but counts it); quota mode answers OK with the limit and
// leaves the overall code alone; any other OVER_LIMIT makes the whole answer OVER_LIMIT, which
// global shadow mode then turns to OK while each descriptor keeps its own code.
import { GrpcError, GrpcStatus } from '../../shared/grpc/wire.js';
import { BackendUnavailable, type CounterBackend, type CounterOp } from '../backends/backend.js';
import { budgetOpOf, type BudgetOp } from '../limiter/budget-ops.js';
import { counterKey, windowStart } from '../limiter/keys.js';
import { OverLimitCache } from '../limiter/over-limit-cache.js';
import { fixedWindowVerdict, slidingWindowVerdict, type Verdict } from '../limiter/verdict.js';
import { configuredLimit, type CompiledDomain } from '../rules/domain.js';
import { keysOnlyStatsKey, matchLimit, type LimitMatch } from '../rules/match.js';
import type { DescriptorStatus, RlsAnswer, RlsDescriptor, RlsRequest } from './request.js';
import { NO_STATS, type StatsSink } from './stats.js';

export const UNLIMITED_REMAINING = 0xffff_ffff;

export interface LimiterOptions {
  readonly keyPrefix: string;
  readonly nearLimitRatio: number;
  /** Up to this many seconds are added to counter expiry, so keys do not all expire at once. */
  readonly expiryJitterSeconds: number;
  /** What to answer when the backend cannot count: allow (open) or refuse (closed). */
  readonly failureMode: 'open' | 'closed';
  /** Answer OK overall whatever the limits say (roll-out), still counting. */
  readonly globalShadowMode: boolean;
  /** Every limit in quota mode: over-limit descriptors answer OK with their limit. */
  readonly globalQuotaMode?: boolean;
  /** Remember counters found over their limit and answer them without asking the backend until
   * their window ends (the reference's LOCAL_CACHE_SIZE_IN_BYTES > 0). Off by default, as there:
   * with it on, an override that went over makes the same counter over without the override. */
  readonly localCache?: boolean;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** The limit that applies to one descriptor, resolved. */
type Applied = LimitMatch;

/** A descriptor's hits: its own hits_addend when Envoy set one (0 included), else the request's. */
function descriptorHits(d: RlsDescriptor, requestHits: number): number {
  return d.hitsAddend ?? requestHits;
}

/** The entries a counter is keyed by: the request's, with share_threshold's shared values. */
function counterEntries(d: RlsDescriptor, shared: ReadonlyArray<string | undefined> | undefined): RlsDescriptor['entries'] {
  return shared ? d.entries.map((e, i) => (shared[i] === undefined ? e : { key: e.key, value: shared[i]! })) : d.entries;
}

/** A reservation of a request's, waiting for the others to go to the backend with them. */
interface PendingReserve {
  readonly index: number;
  readonly key: string;
  readonly id: string;
  readonly hits: number;
  readonly limit: Applied['limit'];
}

/** A settlement's answer: it is sent when the call is over, and nobody waits on it. */
const SETTLED: Verdict = { code: 'OK', remaining: 0, resetSeconds: 1, overLimit: 0, nearLimit: 0, withinLimit: 0 };

export class RateLimiter {
  private readonly overLimit: OverLimitCache | undefined;

  constructor(
    private readonly domains: () => ReadonlyMap<string, CompiledDomain>,
    private readonly backend: CounterBackend,
    private readonly options: LimiterOptions,
    private readonly stats: StatsSink = NO_STATS,
  ) {
    this.overLimit = options.localCache ? new OverLimitCache() : undefined;
  }

  private resolve(domain: CompiledDomain, d: RlsDescriptor): Applied | undefined {
    const match = matchLimit(domain, d.entries);
    if (d.limit) {
      // An override from Envoy: its numbers, but the configured stats key (or the descriptor's
      // keys without values), so overrides never add metric series per value.
      const limit = configuredLimit({
        domain: domain.name,
        statsKey: match?.limit.statsKey ?? keysOnlyStatsKey(d.entries),
        requestsPerUnit: d.limit.requestsPerUnit,
        unit: d.limit.unit,
        unlimited: false,
        shadowMode: false,
        quotaMode: false,
        name: undefined,
        replaces: [],
        detailedMetric: false,
        algorithm: match?.limit.algorithm ?? 'fixed_window',
      });
      return { limit, detailedValue: undefined, sharedValues: undefined };
    }
    return match;
  }

  /**
   * A settlement, in the reservation's window (this one or the one before). The backend down: it
   * is lost, and the reservation stays charged until its window ends — never an overrun.
   */
  private async settle(op: BudgetOp, key: string, previousKey: string, a: Applied['limit'], hits: number): Promise<Verdict> {
    try {
      const moved = await this.backend.settle({ keys: [key, previousKey], id: op.id, charged: hits });
      this.stats.budget?.('settle', moved === undefined ? 'no_reservation' : 'settled', a.statsKey);
    } catch (err) {
      if (!(err instanceof BackendUnavailable)) throw err;
      this.stats.backendFailure(this.options.failureMode);
      this.stats.budget?.('settle', 'backend_unavailable', a.statsKey);
    }
    return SETTLED;
  }

  /**
   * A request's reservations, granted together or not at all (a call refused by one budget takes
   * nothing from the others), in fixed windows whatever the limits' algorithm: a reservation
   * must know the counter it went to. The backend down: the whole answer is an error (gRPC
   * UNAVAILABLE), whatever `--failure-mode` says of plain descriptors, so that the gateway's own
   * failure mode for budgets decides (closed by default). Granted unreserved, a call would never
   * be charged; refused as over the limit, its caller would read a budget spent that is not.
   */
  private async reserveAll(reserves: readonly PendingReserve[], nowMs: number): Promise<Verdict[]> {
    const jitter = (): number => (this.options.expiryJitterSeconds > 0 ? Math.floor((this.options.random ?? Math.random)() * this.options.expiryJitterSeconds) : 0);
    let r;
    try {
      r = await this.backend.reserve(
        reserves.map((p) => ({
          key: p.key,
          id: p.id,
          hits: p.hits,
          // In shadow mode a budget counts every call and refuses none (the answer turns OK later).
          limit: p.limit.shadowMode || this.options.globalShadowMode ? Number.MAX_SAFE_INTEGER : p.limit.requestsPerUnit,
          ttlSeconds: p.limit.windowSeconds + jitter(),
        })),
      );
    } catch (err) {
      if (!(err instanceof BackendUnavailable)) throw err;
      for (const p of reserves) this.stats.budget?.('reserve', 'backend_unavailable', p.limit.statsKey);
      throw new GrpcError(GrpcStatus.UNAVAILABLE, `budget reservations could not be made: ${err.message}`);
    }
    return reserves.map((p, i) => {
      const a = p.limit;
      const count = r.counts[i]!;
      const verdict = (after: number): Verdict => fixedWindowVerdict(a.requestsPerUnit, after, p.hits, this.options.nearLimitRatio, nowMs, a.windowSeconds);
      if (r.granted) {
        this.stats.budget?.('reserve', count <= a.requestsPerUnit ? 'granted' : 'refused', a.statsKey);
        return verdict(count);
      }
      // Refused, nothing added: this one did not fit (over by all its hits), or another did not
      // and this one was withheld with it.
      const fits = count + p.hits <= a.requestsPerUnit;
      this.stats.budget?.('reserve', fits ? 'withheld' : 'refused', a.statsKey);
      return fits ? { ...verdict(count), withinLimit: 0 } : { ...verdict(a.requestsPerUnit + p.hits), remaining: Math.max(0, a.requestsPerUnit - count) };
    });
  }

  async shouldRateLimit(req: RlsRequest): Promise<RlsAnswer> {
    // The reference's service errors, with its words (gRPC UNKNOWN).
    if (!req.domain) throw new GrpcError(GrpcStatus.UNKNOWN, 'rate limit domain must not be empty');
    if (!req.descriptors.length) throw new GrpcError(GrpcStatus.UNKNOWN, 'rate limit descriptor list must not be empty');
    const domain = this.domains().get(req.domain);
    if (!domain) return { overall: 'OK', statuses: req.descriptors.map(() => ({ code: 'OK', remaining: 0 })), headers: [] };
    const requestHits = Math.max(1, req.hitsAddend);
    const nowMs = this.options.now ? this.options.now() : Date.now();

    // Reservations and settlements are limited by the entries before their marker.
    const budget: Array<BudgetOp | undefined> = req.descriptors.map((d) => {
      const op = budgetOpOf(d.entries);
      if (op && 'error' in op) throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, op.error);
      return op;
    });
    const applied: Array<Applied | undefined> = req.descriptors.map((d, i) => this.resolve(domain, budget[i] ? { ...d, entries: budget[i]!.entries } : d));
    if (domain.hasReplaces) {
      const replaced = new Set(applied.flatMap((a) => a?.limit.replaces ?? []));
      for (let i = 0; i < applied.length; i++) if (applied[i]?.limit.name && replaced.has(applied[i]!.limit.name!)) applied[i] = undefined;
    }

    const statuses: Array<DescriptorStatus | undefined> = new Array(applied.length);
    const verdicts: Array<Verdict | undefined> = new Array(applied.length);
    const ops: CounterOp[] = [];
    const opIndex: number[] = [];
    const keys: string[] = new Array(applied.length);
    const budgetWork: Array<Promise<void>> = [];
    const reserves: PendingReserve[] = [];
    for (let i = 0; i < applied.length; i++) {
      const ap = applied[i];
      if (!ap) {
        statuses[i] = { code: 'OK', remaining: 0 };
        continue;
      }
      const a = ap.limit;
      const hits = descriptorHits(req.descriptors[i]!, requestHits);
      if (a.unlimited) {
        statuses[i] = { code: 'OK', remaining: UNLIMITED_REMAINING };
        this.stats.record(a.domain, a.statsKey, hits, 0, 0, hits, 0, ap.detailedValue);
        continue;
      }
      const window = a.windowSeconds;
      const start = windowStart(nowMs, window);
      const op = budget[i];
      const entries = counterEntries(op ? { entries: op.entries } : req.descriptors[i]!, ap.sharedValues);
      const key = counterKey(this.options.keyPrefix, req.domain, entries, start);
      keys[i] = key;
      if (op?.kind === 'settle') {
        const previous = counterKey(this.options.keyPrefix, req.domain, entries, start - window);
        budgetWork.push(this.settle(op, key, previous, a, hits).then((v) => void (verdicts[i] = v)));
        continue;
      }
      if (op) {
        // Counted apart, together: conditional, never cached as over.
        reserves.push({ index: i, key, id: op.id, hits, limit: a });
        continue;
      }
      const overUntil = this.overLimit?.overUntil(key, nowMs);
      if (overUntil !== undefined) {
        this.stats.localCacheHit();
        verdicts[i] = { code: 'OVER_LIMIT', remaining: 0, resetSeconds: Math.max(1, Math.ceil((overUntil - nowMs) / 1000)), overLimit: hits, nearLimit: 0, withinLimit: 0 };
        statuses[i] = { code: 'OVER_LIMIT', limit: a.current, remaining: 0, resetSeconds: verdicts[i]!.resetSeconds };
        continue;
      }
      const sliding = a.algorithm === 'sliding_window';
      const jitter = this.options.expiryJitterSeconds > 0 ? Math.floor((this.options.random ?? Math.random)() * this.options.expiryJitterSeconds) : 0;
      ops.push({
        key,
        hits,
        ttlSeconds: (sliding ? 2 * window : window) + jitter,
        ...(sliding ? { previousKey: counterKey(this.options.keyPrefix, req.domain, entries, start - window) } : {}),
      });
      opIndex.push(i);
    }

    if (ops.length) {
      let results;
      try {
        results = await this.backend.increment(ops);
      } catch (err) {
        if (!(err instanceof BackendUnavailable)) throw err;
        this.stats.backendFailure(this.options.failureMode);
        results = undefined;
      }
      for (let j = 0; j < opIndex.length; j++) {
        const i = opIndex[j]!;
        const a = applied[i]!.limit;
        if (!results) {
          const open = this.options.failureMode === 'open';
          statuses[i] = { code: open ? 'OK' : 'OVER_LIMIT', limit: a.current, remaining: open ? a.requestsPerUnit : 0 };
          continue;
        }
        const r = results[j]!;
        const hits = descriptorHits(req.descriptors[i]!, requestHits);
        const v =
          a.algorithm === 'sliding_window'
            ? slidingWindowVerdict(a.requestsPerUnit, r.after, r.previous, hits, this.options.nearLimitRatio, nowMs, a.windowSeconds)
            : fixedWindowVerdict(a.requestsPerUnit, r.after, hits, this.options.nearLimitRatio, nowMs, a.windowSeconds);
        verdicts[i] = v;
        if (v.code === 'OVER_LIMIT') this.overLimit?.remember(keys[i]!, nowMs + v.resetSeconds * 1000);
        statuses[i] = { code: v.code, limit: a.current, remaining: v.remaining, resetSeconds: v.resetSeconds };
      }
    }

    if (reserves.length) budgetWork.push(this.reserveAll(reserves, nowMs).then((vs) => vs.forEach((v, j) => (verdicts[reserves[j]!.index] = v))));
    if (budgetWork.length) await Promise.all(budgetWork);
    for (let i = 0; i < applied.length; i++) {
      const v = verdicts[i];
      if (budget[i] && v) statuses[i] = { code: v.code, limit: applied[i]!.limit.current, remaining: v.remaining, resetSeconds: v.resetSeconds };
    }

    // Stats, then the modes: the count says what happened, the answer what is enforced.
    let overall: 'OK' | 'OVER_LIMIT' = 'OK';
    let retryAfter = 0;
    for (let i = 0; i < applied.length; i++) {
      const ap = applied[i];
      const v = verdicts[i];
      // A settlement is no hit: its call was counted when it reserved.
      if (!ap || !v || budget[i]?.kind === 'settle') continue;
      const a = ap.limit;
      const hits = descriptorHits(req.descriptors[i]!, requestHits);
      const shadowed = v.code === 'OVER_LIMIT' && a.shadowMode;
      this.stats.record(a.domain, a.statsKey, hits, v.overLimit, v.nearLimit, v.withinLimit, shadowed ? hits : 0, ap.detailedValue);
      if (shadowed) statuses[i] = { ...statuses[i]!, code: 'OK' };
    }
    for (let i = 0; i < statuses.length; i++) {
      const s = statuses[i]!;
      if (s.code !== 'OVER_LIMIT') continue;
      if (this.options.globalQuotaMode || applied[i]?.limit.quotaMode) {
        // Quota mode: OK, with the limit and what remains, no reset (as the reference).
        statuses[i] = { code: 'OK', ...(s.limit ? { limit: s.limit } : {}), remaining: s.remaining };
        continue;
      }
      overall = 'OVER_LIMIT';
      retryAfter = Math.max(retryAfter, s.resetSeconds ?? 1);
    }
    // Global shadow mode: the whole answer OK, each descriptor's own code kept.
    if (overall === 'OVER_LIMIT' && this.options.globalShadowMode) {
      this.stats.globalShadowMode?.();
      overall = 'OK';
    }
    return {
      overall,
      statuses: statuses as DescriptorStatus[],
      headers: overall === 'OVER_LIMIT' ? [['retry-after', String(Math.max(1, retryAfter))]] : [],
    };
  }
}
