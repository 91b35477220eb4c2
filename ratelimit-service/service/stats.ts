// What the limiter reports per configured limit (envoyproxy/ratelimit's per-rule stats); the
// Prometheus side is in metrics.ts. Positional numbers, so the hot path allocates nothing.
export interface StatsSink {
  /** `statsKey` is bounded by configuration; `detailedValue` only with detailed_metric. */
  record(domain: string, statsKey: string, total: number, overLimit: number, nearLimit: number, withinLimit: number, shadowMode: number, detailedValue?: string): void;
  backendFailure(mode: 'open' | 'closed'): void;
  localCacheHit(): void;
  /** A budget reservation or settlement (budget-ops.ts) and how it went. */
  budget?(operation: 'reserve' | 'settle', result: 'granted' | 'refused' | 'withheld' | 'settled' | 'no_reservation' | 'backend_unavailable', statsKey: string): void;
  /** An OVER_LIMIT answer turned OK by global shadow mode. */
  globalShadowMode?(): void;
}

export const NO_STATS: StatsSink = { record: () => undefined, backendFailure: () => undefined, localCacheHit: () => undefined };
