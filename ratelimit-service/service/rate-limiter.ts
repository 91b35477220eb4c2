// ShouldRateLimit, decided: for each descriptor its limit (configured, or Envoy's override),
// `replaces` applied across the request, unlimited answered locally, counters known to be over
// answered from the local cache, everything else counted in one backend call; shadow mode
// turns OVER_LIMIT into OK (but counts it); any OVER_LIMIT makes the whole answer OVER_LIMIT.
import { BackendUnavailable, type CounterBackend, type CounterOp } from '../backends/backend.js';
import { counterKey, windowStart } from '../limiter/keys.js';
import { OverLimitCache } from '../limiter/over-limit-cache.js';
import { fixedWindowVerdict, slidingWindowVerdict, type Verdict } from '../limiter/verdict.js';
import { configuredLimit, type CompiledDomain, type ConfiguredLimit } from '../rules/domain.js';
import { keysOnlyStatsKey, matchLimit } from '../rules/match.js';
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
  /** Answer OK whatever the limits say (roll-out), still counting. */
  readonly globalShadowMode: boolean;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** The limit that applies to one descriptor, resolved. */
interface Applied {
  readonly limit: ConfiguredLimit;
  readonly detailedValue: string | undefined;
}

export class RateLimiter {
  private readonly overLimit = new OverLimitCache();

  constructor(
    private readonly domains: () => ReadonlyMap<string, CompiledDomain>,
    private readonly backend: CounterBackend,
    private readonly options: LimiterOptions,
    private readonly stats: StatsSink = NO_STATS,
  ) {}

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
        name: undefined,
        replaces: [],
        detailedMetric: false,
        algorithm: match?.limit.algorithm ?? 'fixed_window',
      });
      return { limit, detailedValue: undefined };
    }
    return match ? { limit: match.limit, detailedValue: match.detailedValue } : undefined;
  }

  async shouldRateLimit(req: RlsRequest): Promise<RlsAnswer> {
    const domain = this.domains().get(req.domain);
    if (!domain) return { overall: 'OK', statuses: req.descriptors.map(() => ({ code: 'OK', remaining: 0 })), headers: [] };
    const hits = Math.max(1, req.hitsAddend);
    const nowMs = this.options.now ? this.options.now() : Date.now();

    const applied: Array<Applied | undefined> = req.descriptors.map((d) => this.resolve(domain, d));
    if (domain.hasReplaces) {
      const replaced = new Set(applied.flatMap((a) => a?.limit.replaces ?? []));
      for (let i = 0; i < applied.length; i++) if (applied[i]?.limit.name && replaced.has(applied[i]!.limit.name!)) applied[i] = undefined;
    }

    const statuses: Array<DescriptorStatus | undefined> = new Array(applied.length);
    const verdicts: Array<Verdict | undefined> = new Array(applied.length);
    const ops: CounterOp[] = [];
    const opIndex: number[] = [];
    const keys: string[] = new Array(applied.length);
    for (let i = 0; i < applied.length; i++) {
      const ap = applied[i];
      if (!ap) {
        statuses[i] = { code: 'OK', remaining: 0 };
        continue;
      }
      const a = ap.limit;
      if (a.unlimited) {
        statuses[i] = { code: 'OK', remaining: UNLIMITED_REMAINING };
        this.stats.record(a.domain, a.statsKey, hits, 0, 0, hits, 0, ap.detailedValue);
        continue;
      }
      const window = a.windowSeconds;
      const start = windowStart(nowMs, window);
      const key = counterKey(this.options.keyPrefix, req.domain, req.descriptors[i]!.entries, start);
      keys[i] = key;
      const overUntil = this.overLimit.overUntil(key, nowMs);
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
        ...(sliding ? { previousKey: counterKey(this.options.keyPrefix, req.domain, req.descriptors[i]!.entries, start - window) } : {}),
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
        const v =
          a.algorithm === 'sliding_window'
            ? slidingWindowVerdict(a.requestsPerUnit, r.after, r.previous, hits, this.options.nearLimitRatio, nowMs, a.windowSeconds)
            : fixedWindowVerdict(a.requestsPerUnit, r.after, hits, this.options.nearLimitRatio, nowMs, a.windowSeconds);
        verdicts[i] = v;
        if (v.code === 'OVER_LIMIT') this.overLimit.remember(keys[i]!, nowMs + v.resetSeconds * 1000);
        statuses[i] = { code: v.code, limit: a.current, remaining: v.remaining, resetSeconds: v.resetSeconds };
      }
    }

    // Stats, then shadow mode: the count says what happened, the answer what is enforced.
    let overall: 'OK' | 'OVER_LIMIT' = 'OK';
    let retryAfter = 0;
    for (let i = 0; i < applied.length; i++) {
      const ap = applied[i];
      const v = verdicts[i];
      if (!ap || !v) continue;
      const a = ap.limit;
      const shadowed = v.code === 'OVER_LIMIT' && (a.shadowMode || this.options.globalShadowMode);
      this.stats.record(a.domain, a.statsKey, hits, v.overLimit, v.nearLimit, v.withinLimit, shadowed ? hits : 0, ap.detailedValue);
      if (shadowed) statuses[i] = { ...statuses[i]!, code: 'OK' };
    }
    for (const s of statuses) {
      if (s?.code === 'OVER_LIMIT') {
        overall = 'OVER_LIMIT';
        retryAfter = Math.max(retryAfter, s.resetSeconds ?? 1);
      }
    }
    return {
      overall,
      statuses: statuses as DescriptorStatus[],
      headers: overall === 'OVER_LIMIT' ? [['retry-after', String(Math.max(1, retryAfter))]] : [],
    };
  }
}
