// ratelimit-service's Prometheus metrics. Per configured limit (domain and descriptor key, as
// envoyproxy/ratelimit names them): total_hits, over_limit, near_limit, within_limit,
// shadow_mode. Series are bounded by configuration: values appear only with detailed_metric,
// and even then at most DETAILED_VALUES_MAX per limit; overrides never add series.
// Hits are tallied in plain numbers and handed to prom-client when Prometheus scrapes, so a
// request costs a few additions, not label lookups.
//
// The same tallies are also exported under the names envoyproxy/ratelimit's stats get through
// its documented statsd_exporter mapping (examples/prom-statsd-exporter/conf.yaml):
// ratelimit_service_rate_limit_{total_hits,over_limit,near_limit,within_limit,shadow_mode}
// {domain, key1[, key2]}, so dashboards built on the reference keep working.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StatsSink } from './service/stats.js';

const DETAILED_VALUES_MAX = 1_000;

interface Tally {
  readonly domain: string;
  readonly descriptor: string;
  counts: [total: number, over: number, near: number, within: number, shadow: number];
  reported: [number, number, number, number, number];
}

export class RatelimitMetrics implements StatsSink {
  readonly registry = new Registry();
  private readonly tallies = new Map<string, Tally>();
  private readonly detailedValues = new Map<string, Set<string>>();

  private readonly tallyCounter = (name: string, help: string, field: number): Counter<'domain' | 'descriptor'> => {
    const tallies = this.tallies;
    return new Counter({
      name,
      help,
      labelNames: ['domain', 'descriptor'] as const,
      registers: [this.registry],
      collect() {
        for (const t of tallies.values()) {
          const delta = t.counts[field]! - t.reported[field]!;
          if (delta > 0 || t.reported[field] === 0) this.labels({ domain: t.domain, descriptor: t.descriptor }).inc(delta);
          t.reported[field] = t.counts[field]!;
        }
      },
    });
  };

  /** The reference's name for a tally: a gauge-like counter set to the total at each scrape. */
  private readonly referenceCounter = (stat: string, field: number): Counter<'domain' | 'key1' | 'key2'> => {
    const tallies = this.tallies;
    const counter: Counter<'domain' | 'key1' | 'key2'> = new Counter({
      name: `ratelimit_service_rate_limit_${stat}`,
      help: `envoyproxy/ratelimit's ratelimit.service.rate_limit.<domain>.<key>.${stat}, as its statsd_exporter mapping names it`,
      labelNames: ['domain', 'key1', 'key2'] as const,
      registers: [this.registry],
      collect() {
        counter.reset();
        for (const t of tallies.values()) {
          const [key1 = '', key2] = t.descriptor.split('.');
          counter.labels({ domain: t.domain, key1, ...(key2 !== undefined ? { key2 } : {}) }).inc(t.counts[field]!);
        }
      },
    });
    return counter;
  };

  readonly totalHits = this.tallyCounter('meshgate_ratelimit_total_hits_total', 'Hits on a configured limit', 0);
  readonly overLimit = this.tallyCounter('meshgate_ratelimit_over_limit_total', 'Hits over the limit', 1);
  readonly nearLimit = this.tallyCounter('meshgate_ratelimit_near_limit_total', 'Hits above the near-limit ratio but within the limit', 2);
  readonly withinLimit = this.tallyCounter('meshgate_ratelimit_within_limit_total', 'Hits within the limit', 3);
  readonly shadowMode = this.tallyCounter('meshgate_ratelimit_shadow_mode_total', 'Over-limit hits let through by shadow mode', 4);
  readonly referenceNames = (['total_hits', 'over_limit', 'near_limit', 'within_limit', 'shadow_mode'] as const).map((stat, field) => this.referenceCounter(stat, field));
  readonly backendFailures = new Counter({
    name: 'meshgate_ratelimit_backend_failures_total',
    help: 'Requests the backend could not count, by the answer given (open: allowed, closed: refused)',
    labelNames: ['mode'],
    registers: [this.registry],
  });
  readonly budgetOperations = new Counter({
    name: 'meshgate_ratelimit_budget_operations_total',
    help: 'Budget reservations (granted, refused) and settlements (settled, no_reservation), and either failed (backend_unavailable), by the budget\'s descriptor',
    labelNames: ['operation', 'result', 'descriptor'],
    registers: [this.registry],
  });
  readonly localCacheHits = new Counter({ name: 'meshgate_ratelimit_local_cache_hits_total', help: 'Over-limit answers given without asking the backend', registers: [this.registry] });
  readonly latency = new Histogram({
    name: 'meshgate_ratelimit_request_duration_seconds',
    help: 'Time to answer ShouldRateLimit, backend included',
    buckets: [0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1],
    registers: [this.registry],
  });
  readonly backendUp = new Gauge({ name: 'meshgate_ratelimit_backend_up', help: '1 when the counter backend is reachable', registers: [this.registry] });
  readonly circuitOpen = new Gauge({
    name: 'meshgate_ratelimit_backend_circuit_open',
    help: '1 while the circuit of a Redis node (a Cluster master) is open and its counters are answered by the failure mode',
    labelNames: ['node'],
    registers: [this.registry],
  });
  readonly refusals = new Counter({ name: 'meshgate_ratelimit_config_refusals_total', help: 'Config documents refused', labelNames: ['source'], registers: [this.registry] });
  readonly domains = new Gauge({ name: 'meshgate_ratelimit_domains', help: 'Domains in force', registers: [this.registry] });
  readonly consulWatchErrors = new Counter({ name: 'meshgate_consul_watch_errors_total', help: 'Failed Consul blocking queries', labelNames: ['watch'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  private tally(domain: string, descriptor: string): Tally {
    const k = `${domain}\u0000${descriptor}`;
    let t = this.tallies.get(k);
    if (!t) this.tallies.set(k, (t = { domain, descriptor, counts: [0, 0, 0, 0, 0], reported: [0, 0, 0, 0, 0] }));
    return t;
  }

  record(domain: string, statsKey: string, total: number, over: number, near: number, within: number, shadow: number, detailedValue?: string): void {
    let key = statsKey;
    if (detailedValue !== undefined) {
      const seenKey = `${domain}\u0000${statsKey}`;
      let seen = this.detailedValues.get(seenKey);
      if (!seen) this.detailedValues.set(seenKey, (seen = new Set()));
      if (seen.has(detailedValue) || seen.size < DETAILED_VALUES_MAX) {
        seen.add(detailedValue);
        key = `${statsKey}_${detailedValue}`;
      } else {
        key = `${statsKey}_(other)`;
      }
    }
    const c = this.tally(domain, key).counts;
    c[0] += total;
    c[1] += over;
    c[2] += near;
    c[3] += within;
    c[4] += shadow;
  }

  backendFailure(mode: 'open' | 'closed'): void {
    this.backendFailures.inc({ mode });
  }

  budget(operation: 'reserve' | 'settle', result: string, descriptor: string): void {
    this.budgetOperations.inc({ operation, result, descriptor });
  }

  localCacheHit(): void {
    this.localCacheHits.inc();
  }
}
