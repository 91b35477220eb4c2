// What the console asks Prometheus: instant queries, ranges for the charts (the last hour), and
// the alerts. Only the recorded series of observability/rules.ts and a few counters are asked
// for, so a page load costs a handful of queries whatever the fleet's size.
import { fetchJson, type Sourced } from './fetch-json.js';

interface ApiAnswer<T> {
  readonly status: string;
  readonly data: T;
  readonly error?: string;
}

export interface InstantSample {
  readonly labels: Record<string, string>;
  readonly value: number;
}

export interface RangeSeries {
  readonly labels: Record<string, string>;
  /** [unix seconds, value] */
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface PromAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: string;
  readonly activeAt: string;
}

export interface PromTarget {
  readonly labels: Record<string, string>;
  readonly health: string;
  readonly lastError: string;
  readonly scrapeUrl: string;
}

export class PrometheusSource {
  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  private async api<T>(path: string): Promise<Sourced<T>> {
    const r = await fetchJson<ApiAnswer<T>>('prometheus', `${this.url}${path}`, this.timeoutMs);
    if (!r.ok) return r;
    if (r.data.status !== 'success') return { ok: false, source: 'prometheus', reason: r.data.error ?? 'query failed' };
    return { ok: true, data: r.data.data };
  }

  async instant(expr: string): Promise<Sourced<InstantSample[]>> {
    const r = await this.api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
    return r.ok ? { ok: true, data: r.data.result.map((s) => ({ labels: s.metric, value: Number(s.value[1]) })) } : r;
  }

  async range(expr: string, seconds: number, stepSeconds: number, now = Date.now() / 1000): Promise<Sourced<RangeSeries[]>> {
    const q = `query=${encodeURIComponent(expr)}&start=${Math.floor(now - seconds)}&end=${Math.floor(now)}&step=${stepSeconds}`;
    const r = await this.api<{ result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> }>(`/api/v1/query_range?${q}`);
    return r.ok ? { ok: true, data: r.data.result.map((s) => ({ labels: s.metric, points: s.values.map(([t, v]) => [t, Number(v)] as const) })) } : r;
  }

  async alerts(): Promise<Sourced<PromAlert[]>> {
    const r = await this.api<{ alerts: PromAlert[] }>('/api/v1/alerts');
    return r.ok ? { ok: true, data: r.data.alerts } : r;
  }

  async targets(): Promise<Sourced<PromTarget[]>> {
    const r = await this.api<{ activeTargets: PromTarget[] }>('/api/v1/targets');
    return r.ok ? { ok: true, data: r.data.activeTargets } : r;
  }
}
