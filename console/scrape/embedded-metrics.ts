// The console's own scrape, when no Prometheus is configured (the embedded default): the same
// targets Prometheus would scrape (the xds-server's /prometheus/targets, the same meta), every
// interval, bounded — at most `maxTargets`, `maxBytes` an answer, `timeoutMs` each, four at a
// time — reading only the series the console shows, summed per service. Each scrape keeps the
// cumulative counts long enough for one-minute rates, and one point per service for the last
// hour's charts (rates and quantiles worked out as Prometheus' rate and histogram_quantile do).
import { consulMetaLabel, JOBS, METRICS_META, PROXY_METRICS_SERVICE } from '../../shared/consul/metrics-meta.js';
import { NOT_SERVICES as NOT_SERVICE_NAMES } from '../../observability/rules.js';
import { fetchText } from '../../shared/fetch-text.js';
import { fetchJson, type Sourced } from '../sources/fetch-json.js';
import type { InstantSample, PromTarget } from '../sources/prometheus.js';
import type { SeriesName } from '../series-name.js';
import { histogramQuantile, parseExposition, type Sample } from './exposition.js';

const WANTED = new Set([
  'envoy_cluster_upstream_rq_completed',
  'envoy_cluster_upstream_rq_pending_overflow',
  'envoy_cluster_upstream_rq_active_overflow',
  'envoy_cluster_upstream_rq_xx',
  'envoy_cluster_upstream_rq_time_bucket',
  'envoy_cluster_upstream_rq_body_size_sum',
  'envoy_cluster_upstream_rs_body_size_sum',
  'gen_ai_client_token_usage_sum',
  'gen_ai_server_time_to_first_token_seconds_bucket',
  'meshgate_authz_decisions_total',
  'meshgate_ratelimit_near_limit_total',
  'meshgate_ratelimit_over_limit_total',
  'meshgate_llm_queued_total',
  'meshgate_llm_queue_refused_total',
  'meshgate_llm_queue_length',
]);
const NOT_SERVICES: ReadonlySet<string> = new Set(NOT_SERVICE_NAMES);

/** The labels the pool figures are kept by (as Prometheus sums them in console/server.ts). */
const POOL_CALLER = ['priority', 'tenant'] as const;
const POOL_REFUSAL = ['priority', 'tenant', 'reason'] as const;
const POOL_WAITING = ['gen_ai_request_model', 'priority'] as const;
const key = (labels: Readonly<Record<string, string>>, names: readonly string[]): string => names.map((n) => labels[n] ?? '').join('\u0000');

/** Cumulative counts at one scrape. */
interface Counts {
  readonly at: number;
  readonly services: Map<string, { rq: number; xx5: number; refused: number; reqBytes: number; respBytes: number; tokens: number; buckets: Map<number, number>; ttft: Map<number, number> }>;
  readonly authz: Map<string, number>;
  readonly near: Map<string, number>;
  readonly over: Map<string, number>;
  /** Calls queued for a saturated model pool, by priority and tenant. */
  readonly queued: Map<string, number>;
  /** … and refused, by priority, tenant and reason. */
  readonly poolRefused: Map<string, number>;
  /** Waiting now, by model and priority (a gauge). */
  readonly poolWaiting: Map<string, number>;
}

interface Point {
  readonly t: number;
  readonly rps: number;
  readonly errors: number;
  readonly p50?: number;
  readonly p99?: number;
  readonly successRatio?: number;
  readonly requestBytesPerSecond: number;
  readonly responseBytesPerSecond: number;
  readonly tokensPerSecond: number;
  readonly ttft?: number;
  readonly refusedPerSecond: number;
}

export interface EmbeddedOptions {
  readonly xdsAdmin: string;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  readonly maxTargets?: number;
  readonly maxBytes?: number;
  /** How far back the charts go. */
  readonly windowMs?: number;
}

export class EmbeddedMetrics {
  private readonly intervalMs: number;
  private readonly raw: Counts[] = [];
  private readonly history = new Map<string, Point[]>();
  private firstRaw: Counts | undefined;
  private targetHealth: PromTarget[] = [];
  private discovery: Sourced<unknown> = { ok: true, data: null };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly o: EmbeddedOptions) {
    this.intervalMs = o.intervalMs ?? 15_000;
  }

  start(): void {
    void this.scrapeOnce();
    this.timer = setInterval(() => void this.scrapeOnce(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One round over every target (a round still running is joined, never doubled). */
  scrapeOnce(now = Date.now()): Promise<void> {
    this.running ??= this.round(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(now: number): Promise<void> {
    const timeoutMs = this.o.timeoutMs ?? 5_000;
    const found = await fetchJson<Array<{ targets: string[]; labels: Record<string, string> }>>('xds-server', `${this.o.xdsAdmin}/prometheus/targets`, timeoutMs);
    this.discovery = found;
    if (!found.ok) return;
    const groups = found.data.slice(0, this.o.maxTargets ?? 2_000);
    const samples: Sample[] = [];
    const health: PromTarget[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < groups.length) {
        const g = groups[next++]!;
        const l = g.labels;
        const address = `${l[consulMetaLabel(METRICS_META.address)]}:${l[consulMetaLabel(METRICS_META.port)]}`;
        const job = l['__meta_consul_service'] === PROXY_METRICS_SERVICE ? JOBS.envoy : JOBS.components;
        const url = `http://${address}${l[consulMetaLabel(METRICS_META.path)] ?? '/metrics'}${job === JOBS.envoy ? '?usedonly' : ''}`;
        const labels = { job, instance: l['__meta_consul_service_id'] ?? address };
        const r = await fetchText(url, timeoutMs, this.o.maxBytes ?? 32 * 1024 * 1024);
        // As Prometheus says it: the status alone, not the body of a failing target.
        health.push({ labels, health: r.ok ? 'up' : 'down', lastError: r.ok ? '' : r.reason.replace(/^(HTTP \d+):.*$/s, '$1'), scrapeUrl: url });
        if (r.ok) for (const s of parseExposition(r.text, WANTED)) samples.push(s);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    this.targetHealth = health;
    this.take(this.countsOf(samples, now));
  }

  private countsOf(samples: readonly Sample[], at: number): Counts {
    const services: Counts['services'] = new Map();
    const of = (name: string) => {
      let s = services.get(name);
      if (!s) services.set(name, (s = { rq: 0, xx5: 0, refused: 0, reqBytes: 0, respBytes: 0, tokens: 0, buckets: new Map(), ttft: new Map() }));
      return s;
    };
    const authz = new Map<string, number>();
    const near = new Map<string, number>();
    const over = new Map<string, number>();
    const queued = new Map<string, number>();
    const poolRefused = new Map<string, number>();
    const poolWaiting = new Map<string, number>();
    const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
    for (const x of samples) {
      const cluster = x.labels['envoy_cluster_name'];
      if (cluster !== undefined) {
        if (NOT_SERVICES.has(cluster)) continue;
        const s = of(cluster);
        if (x.name === 'envoy_cluster_upstream_rq_completed') s.rq += x.value;
        else if (x.name === 'envoy_cluster_upstream_rq_pending_overflow' || x.name === 'envoy_cluster_upstream_rq_active_overflow') s.refused += x.value;
        else if (x.name === 'envoy_cluster_upstream_rq_xx' && x.labels['envoy_response_code_class'] === '5') s.xx5 += x.value;
        else if (x.name === 'envoy_cluster_upstream_rq_body_size_sum') s.reqBytes += x.value;
        else if (x.name === 'envoy_cluster_upstream_rs_body_size_sum') s.respBytes += x.value;
        else if (x.name === 'envoy_cluster_upstream_rq_time_bucket') {
          const le = x.labels['le'] === '+Inf' ? Infinity : Number(x.labels['le']);
          s.buckets.set(le, (s.buckets.get(le) ?? 0) + x.value);
        }
      } else if (x.name === 'gen_ai_client_token_usage_sum' && x.labels['service']) of(x.labels['service']).tokens += x.value;
      else if (x.name === 'gen_ai_server_time_to_first_token_seconds_bucket' && x.labels['service']) {
        const le = x.labels['le'] === '+Inf' ? Infinity : Number(x.labels['le']);
        const t = of(x.labels['service']).ttft;
        t.set(le, (t.get(le) ?? 0) + x.value);
      }
      else if (x.name === 'meshgate_authz_decisions_total') add(authz, `${x.labels['policy'] ?? ''}\u0000${x.labels['result'] ?? ''}`, x.value);
      else if (x.name === 'meshgate_ratelimit_near_limit_total') add(near, x.labels['descriptor'] ?? '', x.value);
      else if (x.name === 'meshgate_ratelimit_over_limit_total') add(over, x.labels['descriptor'] ?? '', x.value);
      else if (x.name === 'meshgate_llm_queued_total') add(queued, key(x.labels, POOL_CALLER), x.value);
      else if (x.name === 'meshgate_llm_queue_refused_total') add(poolRefused, key(x.labels, POOL_REFUSAL), x.value);
      else if (x.name === 'meshgate_llm_queue_length') add(poolWaiting, key(x.labels, POOL_WAITING), x.value);
    }
    return { at, services, authz, near, over, queued, poolRefused, poolWaiting };
  }

  private take(c: Counts): void {
    this.firstRaw ??= c;
    this.raw.push(c);
    // Enough cumulative counts for a one-minute window; older ones are no longer needed.
    while (this.raw.length > 2 && c.at - this.raw[1]!.at >= 60_000) this.raw.shift();
    const base = this.raw[0]!;
    const dt = (c.at - base.at) / 1000;
    if (dt <= 0) return;
    const delta = (now: number, then: number | undefined) => Math.max(0, now - (then ?? 0));
    const windowMs = this.o.windowMs ?? 3_600_000;
    for (const [name, s] of c.services) {
      const b = base.services.get(name);
      const rq = delta(s.rq, b?.rq);
      const deltas = (now: Map<number, number>, then: Map<number, number> | undefined) => [...now.entries()].sort((x, y) => x[0] - y[0]).map(([le, n]) => [le, delta(n, then?.get(le))] as const);
      const buckets = deltas(s.buckets, b?.buckets);
      const p50 = histogramQuantile(0.5, buckets);
      const p99 = histogramQuantile(0.99, buckets);
      const ttft = histogramQuantile(0.5, deltas(s.ttft, b?.ttft));
      const point: Point = {
        t: c.at / 1000,
        rps: rq / dt,
        errors: delta(s.xx5, b?.xx5) / dt,
        ...(p50 !== undefined ? { p50 } : {}),
        ...(p99 !== undefined ? { p99 } : {}),
        ...(rq > 0 ? { successRatio: 1 - delta(s.xx5, b?.xx5) / rq } : {}),
        requestBytesPerSecond: delta(s.reqBytes, b?.reqBytes) / dt,
        responseBytesPerSecond: delta(s.respBytes, b?.respBytes) / dt,
        tokensPerSecond: delta(s.tokens, b?.tokens) / dt,
        refusedPerSecond: delta(s.refused, b?.refused) / dt,
        ...(ttft !== undefined ? { ttft } : {}),
      };
      let h = this.history.get(name);
      if (!h) this.history.set(name, (h = []));
      h.push(point);
      while (h.length && point.t * 1000 - h[0]!.t * 1000 > windowMs) h.shift();
    }
    for (const [name, h] of this.history) if (!c.services.has(name) && (!h.length || c.at - h[h.length - 1]!.t * 1000 > windowMs)) this.history.delete(name);
  }

  private latest(pick: (p: Point) => number | undefined): Sourced<InstantSample[]> {
    if (!this.discovery.ok) return this.discovery as Sourced<never>;
    const out: InstantSample[] = [];
    for (const [service, h] of this.history) {
      const v = h.length ? pick(h[h.length - 1]!) : undefined;
      if (v !== undefined) out.push({ labels: { service }, value: v });
    }
    return { ok: true, data: out };
  }

  traffic() {
    return {
      rps: this.latest((p) => p.rps),
      successRatio: this.latest((p) => p.successRatio),
      p50Ms: this.latest((p) => p.p50),
      p99Ms: this.latest((p) => p.p99),
      requestBytesPerSecond: this.latest((p) => p.requestBytesPerSecond),
      responseBytesPerSecond: this.latest((p) => p.responseBytesPerSecond),
      tokensPerSecond: this.latest((p) => p.tokensPerSecond),
      ttftP50Seconds: this.latest((p) => p.ttft),
      refusedPerSecond: this.latest((p) => p.refusedPerSecond),
    };
  }

  /** Counts since the first scrape within the hour (Prometheus' increase over 1h). */
  private sinceStart(key: 'authz' | 'near' | 'over' | 'queued' | 'poolRefused'): Map<string, number> {
    const last = this.raw[this.raw.length - 1];
    const out = new Map<string, number>();
    if (!last || !this.firstRaw) return out;
    for (const [k, v] of last[key]) out.set(k, Math.max(0, v - (this.firstRaw[key].get(k) ?? 0)));
    return out;
  }

  authz(): Sourced<InstantSample[]> {
    return { ok: true, data: [...this.sinceStart('authz')].map(([k, value]) => ({ labels: { policy: k.split('\u0000')[0]!, result: k.split('\u0000')[1]! }, value })) };
  }

  limits(kind: 'near' | 'over'): Sourced<InstantSample[]> {
    return { ok: true, data: [...this.sinceStart(kind)].filter(([, v]) => v > 0).map(([descriptor, value]) => ({ labels: { descriptor }, value })) };
  }

  /** Model pools under saturation: calls queued and refused since the first scrape within the hour, by their labels; waiting now. */
  pools(): { queued: Sourced<InstantSample[]>; refused: Sourced<InstantSample[]>; waiting: Sourced<InstantSample[]> } {
    const samples = (m: Map<string, number>, names: readonly string[]): Sourced<InstantSample[]> => ({
      ok: true,
      data: [...m].filter(([, v]) => v > 0).map(([k, value]) => ({ labels: Object.fromEntries(k.split('\u0000').map((v, i) => [names[i]!, v])), value })),
    });
    return {
      queued: samples(this.sinceStart('queued'), POOL_CALLER),
      refused: samples(this.sinceStart('poolRefused'), POOL_REFUSAL),
      waiting: samples(this.raw[this.raw.length - 1]?.poolWaiting ?? new Map(), POOL_WAITING),
    };
  }

  targets(): Sourced<PromTarget[]> {
    return { ok: true, data: this.targetHealth };
  }

  series(service: string): Record<SeriesName, ReadonlyArray<readonly [number, number]>> {
    const h = this.history.get(service) ?? [];
    const pts = (pick: (p: Point) => number | undefined) => h.flatMap((p) => (pick(p) === undefined ? [] : [[p.t, pick(p)!] as const]));
    return {
      rps: pts((p) => p.rps),
      errors: pts((p) => p.errors),
      success: pts((p) => p.successRatio),
      p50: pts((p) => p.p50),
      p99: pts((p) => p.p99),
      bytesIn: pts((p) => p.requestBytesPerSecond),
      bytesOut: pts((p) => p.responseBytesPerSecond),
      tokens: pts((p) => p.tokensPerSecond),
      ttft: pts((p) => p.ttft),
      refused: pts((p) => p.refusedPerSecond),
    };
  }
}
