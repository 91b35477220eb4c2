// The console's overview, built from what its sources answered (pure: the sources' answers in,
// the page's model out). A source that could not be read leaves its part empty and says why.
import type { Sourced } from './sources/fetch-json.js';
import type { InstantSample, PromAlert } from './sources/prometheus.js';

export interface MeshView {
  readonly synced: boolean;
  readonly services: ReadonlyArray<{
    readonly name: string;
    readonly settings: { readonly models?: readonly string[]; readonly gatewayPaths?: ReadonlyArray<{ readonly path: string }> };
    readonly instances: ReadonlyArray<{ readonly id: string; readonly address: string; readonly port: number; readonly health: string; readonly registry?: string; readonly meta?: Record<string, string> }>;
  }>;
  readonly problems: ReadonlyArray<{ readonly subject: string; readonly reason: string; readonly since: string }>;
  /** The registries the xds-server reads (absent from an xds-server that predates them). */
  readonly registries?: ReadonlyArray<RegistryView>;
}

export interface RegistryView {
  readonly registry: string;
  readonly up: boolean;
  readonly synced: boolean;
  readonly reason?: string;
  readonly since: string;
  readonly services: number;
  readonly instances: number;
}

export interface ProxyView {
  readonly node_id: string;
  readonly role: string;
  readonly api: string;
  readonly peer: string;
  readonly types: Record<string, { readonly status: string; readonly acked_version: string | null; readonly last_nack: { readonly version: string; readonly message: string; readonly at: string } | null }>;
}

export interface EntriesView {
  readonly documents: ReadonlyArray<{ readonly id: string; readonly state: string; readonly last_refusal: { readonly reason?: string; readonly at?: string } | string | null }>;
}

export interface Traffic {
  readonly rps?: number;
  readonly successRatio?: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly requestBytesPerSecond?: number;
  readonly responseBytesPerSecond?: number;
  /** Model services: tokens/s (input and output) and the median time to first token. */
  readonly tokensPerSecond?: number;
  readonly ttftP50Seconds?: number;
  /** Calls refused at once for the service's bounds (503 upstream_overloaded with Retry-After). */
  readonly refusedPerSecond?: number;
}

export interface Overview {
  readonly generatedAt: string;
  /** Sources that could not be read, and why. */
  readonly unreachable: ReadonlyArray<{ readonly source: string; readonly reason: string }>;
  readonly services: ReadonlyArray<{
    readonly name: string;
    readonly models: readonly string[];
    readonly healthy: number;
    readonly instances: ReadonlyArray<{ readonly id: string; readonly address: string; readonly port: number; readonly health: string; readonly registry: string }>;
    readonly traffic: Traffic;
  }>;
  readonly proxies: ReadonlyArray<{ readonly node: string; readonly role: string; readonly api: string; readonly status: string; readonly nack?: { readonly type: string; readonly message: string; readonly at: string } }>;
  readonly configRefusals: ReadonlyArray<{ readonly subject: string; readonly reason: string; readonly since: string }>;
  /** Each registry read: up or why not, and how much it holds. */
  readonly registries: ReadonlyArray<RegistryView>;
  readonly alerts: ReadonlyArray<{ readonly name: string; readonly state: string; readonly severity: string; readonly summary: string; readonly since: string }>;
  readonly authz: ReadonlyArray<{ readonly policy: string; readonly result: string; readonly lastHour: number }>;
  readonly ratelimit: ReadonlyArray<{ readonly descriptor: string; readonly near: number; readonly over: number }>;
  /** Model pools under saturation: who waited and who was refused in the last hour, and what waits now. */
  readonly pools: {
    readonly callers: ReadonlyArray<{ readonly priority: string; readonly tenant: string; readonly queued: number; readonly refused: number; readonly refusedBy: Readonly<Record<string, number>> }>;
    readonly waiting: ReadonlyArray<{ readonly model: string; readonly priority: string; readonly count: number }>;
  };
  /** Scrape targets Prometheus cannot reach, and why. */
  readonly downTargets: ReadonlyArray<{ readonly job: string; readonly instance: string; readonly error: string }>;
}

export interface OverviewInputs {
  readonly mesh: Sourced<MeshView>;
  readonly proxies: Sourced<ProxyView[]>;
  readonly entries: Sourced<EntriesView>;
  /** Absent: no Prometheus configured. */
  readonly prometheus?: {
    readonly traffic: Readonly<Record<keyof Traffic, Sourced<InstantSample[]>>>;
    readonly alerts: Sourced<PromAlert[]>;
    readonly authz: Sourced<InstantSample[]>;
    readonly near: Sourced<InstantSample[]>;
    readonly over: Sourced<InstantSample[]>;
    readonly pools: { readonly queued: Sourced<InstantSample[]>; readonly refused: Sourced<InstantSample[]>; readonly waiting: Sourced<InstantSample[]> };
    readonly targets: Sourced<Array<{ labels: Record<string, string>; health: string; lastError: string }>>;
  };
}

const RANK: Record<string, number> = { NACKED: 3, STALE: 2, SYNCED: 1, NOT_SUBSCRIBED: 0 };

export function buildOverview(i: OverviewInputs, now = new Date()): Overview {
  const unreachable: Array<{ source: string; reason: string }> = [];
  const got = <T>(s: Sourced<T> | undefined, fallback: T): T => {
    if (!s) return fallback;
    if (s.ok) return s.data;
    // One line per source: the first reason (the others are the same outage seen by other queries).
    if (!unreachable.some((u) => u.source === s.source)) unreachable.push({ source: s.source, reason: s.reason });
    return fallback;
  };
  const mesh = got(i.mesh, { synced: false, services: [], problems: [] });
  const p = i.prometheus;
  if (!p) unreachable.push({ source: 'prometheus', reason: 'not configured (--prometheus): no traffic series or alerts' });

  // Each figure by service: the traffic's keys are the figures'.
  const traffic = Object.entries(p?.traffic ?? {}).map(([k, figure]) => [k, new Map(got(figure, []).map((s) => [s.labels['service'] ?? '', s.value]))] as const);
  const trafficOf = (service: string): Traffic => {
    const out: Record<string, number> = {};
    for (const [k, m] of traffic) {
      const v = m.get(service);
      if (v !== undefined && Number.isFinite(v)) out[k] = v;
    }
    return out;
  };

  const services = mesh.services
    .filter((s) => s.instances.length > 0 || (s.settings.gatewayPaths?.length ?? 0) > 0)
    .map((s) => ({
      name: s.name,
      models: [...(s.settings.models ?? [])],
      healthy: s.instances.filter((x) => x.health === 'HEALTHY').length,
      instances: s.instances.map((x) => ({ id: x.id, address: x.address, port: x.port, health: x.health, registry: x.registry ?? 'consul' })),
      traffic: trafficOf(s.name),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));

  const proxies = got(i.proxies, []).map((px) => {
    let status = 'NOT_SUBSCRIBED';
    let nack: { type: string; message: string; at: string } | undefined;
    for (const [type, t] of Object.entries(px.types)) {
      if ((RANK[t.status] ?? 0) > (RANK[status] ?? 0)) status = t.status;
      if (t.status === 'NACKED' && t.last_nack) nack = { type, message: t.last_nack.message, at: t.last_nack.at };
    }
    return { node: px.node_id, role: px.role.split(':')[0] ?? px.role, api: px.api, status, ...(nack ? { nack } : {}) };
  });

  const refusals = [
    ...mesh.problems.map((x) => ({ subject: x.subject, reason: x.reason, since: x.since })),
    ...got(i.entries, { documents: [] }).documents
      .filter((d) => d.last_refusal)
      .map((d) => {
        const r = d.last_refusal!;
        return typeof r === 'string' ? { subject: `config entry ${d.id}`, reason: r, since: '' } : { subject: `config entry ${d.id}`, reason: r.reason ?? '', since: r.at ?? '' };
      }),
  ];

  const alerts = got(p?.alerts, []).map((a) => ({
    name: a.labels['alertname'] ?? '',
    state: a.state,
    severity: a.labels['severity'] ?? '',
    summary: a.annotations['summary'] ?? '',
    since: a.activeAt,
  }));
  const authz = got(p?.authz, []).map((s) => ({ policy: s.labels['policy'] ?? '', result: s.labels['result'] ?? '', lastHour: Math.round(s.value) }));
  const near = new Map(got(p?.near, []).map((s) => [s.labels['descriptor'] ?? '', s.value]));
  const over = new Map(got(p?.over, []).map((s) => [s.labels['descriptor'] ?? '', s.value]));
  const ratelimit = [...new Set([...near.keys(), ...over.keys()])].sort().map((d) => ({ descriptor: d, near: Math.round(near.get(d) ?? 0), over: Math.round(over.get(d) ?? 0) }));
  const callers = new Map<string, { priority: string; tenant: string; queued: number; refused: number; refusedBy: Record<string, number> }>();
  const caller = (l: Readonly<Record<string, string>>) => {
    const k = `${l['priority'] ?? ''}\u0000${l['tenant'] ?? ''}`;
    let c = callers.get(k);
    if (!c) callers.set(k, (c = { priority: l['priority'] ?? '', tenant: l['tenant'] ?? '', queued: 0, refused: 0, refusedBy: {} }));
    return c;
  };
  for (const s of got(p?.pools.queued, [])) caller(s.labels).queued += Math.round(s.value);
  for (const s of got(p?.pools.refused, [])) {
    const c = caller(s.labels);
    const n = Math.round(s.value);
    c.refused += n;
    const why = s.labels['reason'] ?? '';
    c.refusedBy[why] = (c.refusedBy[why] ?? 0) + n;
  }
  const PRIORITY_ORDER = ['critical', 'standard', 'sheddable'];
  const pools = {
    callers: [...callers.values()].filter((c) => c.queued || c.refused).sort((a, b) => PRIORITY_ORDER.indexOf(a.priority) - PRIORITY_ORDER.indexOf(b.priority) || (a.tenant < b.tenant ? -1 : 1)),
    waiting: got(p?.pools.waiting, [])
      .filter((s) => s.value > 0)
      .map((s) => ({ model: s.labels['gen_ai_request_model'] ?? '', priority: s.labels['priority'] ?? '', count: Math.round(s.value) })),
  };
  const downTargets = got(p?.targets, [])
    .filter((t) => t.health !== 'up')
    .map((t) => ({ job: t.labels['job'] ?? '', instance: t.labels['instance'] ?? '', error: t.lastError || t.health }));

  return { generatedAt: now.toISOString(), unreachable, services, proxies, configRefusals: refusals, registries: mesh.registries ?? [], alerts, authz, ratelimit, pools, downTargets };
}
