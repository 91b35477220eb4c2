// The console's HTTP side: the page (and the libraries it is built with, from node_modules —
// nothing from a CDN), the overview, and a service's series for its charts. One overview is
// built at a time and shared by every caller within a second, so a room full of open pages
// costs the sources what one does.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import express from 'express';
import { Counter, Gauge, Registry } from 'prom-client';
import type { RecentRequests } from './access-log/recent-requests.js';
import type { EmbeddedMetrics } from './scrape/embedded-metrics.js';
import type { SeriesName } from './series-name.js';
import { adminApp } from '../shared/admin-http.js';
import { access, callerOf, operatorsOnly, underGatewayPath, type Caller } from './access.js';
import { isServiceName } from '../shared/validate/names.js';
import { buildOverview, type EntriesView, type MeshView, type Overview, type ProxyView, type Traffic } from './overview.js';
import { fetchJson, type Sourced } from './sources/fetch-json.js';
import { PrometheusSource, type InstantSample } from './sources/prometheus.js';
import type { ConsoleConfig } from './config.js';

const require = createRequire(import.meta.url);
const WEB = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'console', 'web');

/** The libraries the page imports, from this project's node_modules: read once, as they never change. */
const VENDOR: Record<string, { file: string; type: string }> = {
  // Preact and htm in one ES module (htm's own build of them); its package exports only the condition-named file.
  'preact-htm.js': { file: new URL(import.meta.resolve('htm/preact/standalone')).pathname, type: 'text/javascript' },
  'uplot.js': { file: require.resolve('uplot/dist/uPlot.esm.js'), type: 'text/javascript' },
  'uplot.css': { file: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css' },
};
const vendorBytes = new Map<string, Buffer>();

/** Each chart's recorded series (observability/rules.ts; they leave out what is no service). */
const RECORDED: Record<SeriesName, string> = {
  rps: 'service:meshgate_requests:rate1m',
  errors: 'service:meshgate_requests_5xx:rate1m',
  success: 'service:meshgate_success_ratio:rate1m',
  p50: 'service:meshgate_latency_ms:p50_1m',
  p99: 'service:meshgate_latency_ms:p99_1m',
  bytesIn: 'service:meshgate_request_bytes:rate1m',
  bytesOut: 'service:meshgate_response_bytes:rate1m',
  tokens: 'service:gen_ai_tokens:rate1m',
  ttft: 'service:gen_ai_time_to_first_token_seconds:p50_5m',
  refused: 'service:meshgate_refused_overload:rate1m',
};

/** The overview's figure of a service, by the chart whose latest value it is. */
const TRAFFIC_SERIES: Record<keyof Traffic, SeriesName> = {
  rps: 'rps',
  successRatio: 'success',
  p50Ms: 'p50',
  p99Ms: 'p99',
  requestBytesPerSecond: 'bytesIn',
  responseBytesPerSecond: 'bytesOut',
  tokensPerSecond: 'tokens',
  ttftP50Seconds: 'ttft',
  refusedPerSecond: 'refused',
};

export interface SeriesAnswer {
  readonly service: string;
  readonly step: number;
  readonly series: Record<string, ReadonlyArray<readonly [number, number]>>;
  readonly unreachable?: string;
}

export function consoleApp(config: ConsoleConfig, recent: RecentRequests, embedded?: EmbeddedMetrics, now: () => number = Date.now): express.Express {
  const metrics = new Registry();
  new Gauge({ name: 'meshgate_console_requests_kept', help: 'Recent requests in the window', registers: [metrics], collect() { this.set(recent.kept); } });
  new Counter({ name: 'meshgate_console_requests_received_total', help: 'Access-log entries received', registers: [metrics], collect() { this.reset(); this.inc(recent.received); } });
  const accessOptions = { gatewayPath: config.gateway?.path, operatorScope: config.operatorScope, viewerScope: config.viewerScope };
  // Through the gateway, ext-authz has decided who the caller is; the operator key is for direct callers.
  const app = adminApp({ metrics, notReadyReason: () => undefined, ...(config.gateway ? { identified: (req) => callerOf(req, accessOptions).via === 'gateway' } : {}) });
  app.use(underGatewayPath(config.gateway?.path));
  app.use(access(accessOptions));
  app.get('/api/whoami', (_req, res) => {
    const caller = res.locals['caller'] as Caller;
    res.json({ ...caller, role: caller.role ?? null, signOut: caller.via === 'gateway' && config.gateway?.login ? 'oauth2/signout' : null });
  });
  const prom = config.prometheus ? new PrometheusSource(config.prometheus, config.sourceTimeoutMs) : undefined;
  const xds = <T>(p: string) => fetchJson<T>('xds-server', `${config.xdsAdmin}${p}`, config.sourceTimeoutMs);

  const build = async (): Promise<Overview> => {
    const [mesh, proxies, entries] = await Promise.all([xds<MeshView>('/debug/mesh'), xds<ProxyView[]>('/debug/proxies'), xds<EntriesView>('/debug/config-entries')]);
    const prometheus = prom
      ? await (async () => {
          const keys = Object.keys(TRAFFIC_SERIES) as Array<keyof Traffic>;
          const [figures, alerts, authz, near, over, queued, refused, waiting, targets] = await Promise.all([
            Promise.all(keys.map((k) => prom.instant(RECORDED[TRAFFIC_SERIES[k]]))),
            prom.alerts(),
            prom.instant('sum by (policy, result) (increase(meshgate_authz_decisions_total[1h]))'),
            prom.instant('sum by (descriptor) (increase(meshgate_ratelimit_near_limit_total[1h]))'),
            prom.instant('sum by (descriptor) (increase(meshgate_ratelimit_over_limit_total[1h]))'),
            prom.instant('sum by (priority, tenant) (increase(meshgate_llm_queued_total[1h]))'),
            prom.instant('sum by (priority, tenant, reason) (increase(meshgate_llm_queue_refused_total[1h]))'),
            prom.instant('sum by (gen_ai_request_model, priority) (meshgate_llm_queue_length)'),
            prom.targets(),
          ]);
          const traffic = Object.fromEntries(keys.map((k, n) => [k, figures[n]!])) as Record<keyof Traffic, Sourced<InstantSample[]>>;
          return { traffic, alerts, authz, near, over, pools: { queued, refused, waiting }, targets };
        })()
      : embedded
        ? {
            traffic: embedded.traffic(),
            alerts: { ok: false as const, source: 'alerts', reason: 'evaluated by Prometheus only (--prometheus); the console scrapes the same targets itself for the rest' },
            authz: embedded.authz(),
            near: embedded.limits('near'),
            over: embedded.limits('over'),
            pools: embedded.pools(),
            targets: embedded.targets(),
          }
        : undefined;
    return buildOverview({ mesh, proxies, entries, ...(prometheus ? { prometheus } : {}) }, new Date(now()));
  };

  let current: { at: number; value: Promise<Overview> } | undefined;
  app.get('/api/overview', async (_req, res) => {
    if (!current || now() - current.at > 1_000) current = { at: now(), value: build() };
    res.json(await current.value);
  });

  // A service's last hour, for its charts: requests/s, 5xx/s, success, p50 and p99 latency,
  // bytes in and out, and for a model service tokens/s and time to first token.
  app.get('/api/series', async (req, res) => {
    const service = String(req.query['service'] ?? '');
    if (!isServiceName(service) && !/^model~[\w.:/@-]{1,128}$/.test(service)) {
      res.status(400).json({ error: 'service must be a service name' });
      return;
    }
    const step = 15;
    if (!prom) {
      res.json(embedded ? ({ service, step, series: embedded.series(service) } satisfies SeriesAnswer) : ({ service, step, series: {}, unreachable: 'prometheus: not configured (--prometheus)' } satisfies SeriesAnswer));
      return;
    }
    const names = Object.keys(RECORDED) as SeriesName[];
    const answers = await Promise.all(names.map((k) => prom.range(`${RECORDED[k]}{service="${service}"}`, 3600, step, now() / 1000)));
    const series: Record<string, ReadonlyArray<readonly [number, number]>> = {};
    let unreachable: string | undefined;
    names.forEach((k, n) => {
      const a = answers[n]!;
      if (a.ok) series[k] = a.data[0]?.points ?? [];
      else unreachable = `${a.source}: ${a.reason}`;
    });
    res.json({ service, step, series, ...(unreachable ? { unreachable } : {}) } satisfies SeriesAnswer);
  });

  // The gateway's recent requests, newest first: by request id, status ("5xx" too), service.
  app.get('/api/requests', operatorsOnly, (req, res) => {
    const text = (k: string): string | undefined => (typeof req.query[k] === 'string' && req.query[k] !== '' ? String(req.query[k]).slice(0, 128) : undefined);
    const limit = Number(text('limit') ?? 100);
    const found = recent.search({ ...(text('id') ? { requestId: text('id')! } : {}), ...(text('status') ? { status: text('status')! } : {}), ...(text('service') ? { service: text('service')! } : {}), limit: Number.isFinite(limit) ? limit : 100 });
    res.json({ kept: recent.kept, capacity: recent.capacity, requests: found });
  });

  app.get('/vendor/:file', (req, res) => {
    const v = VENDOR[req.params.file];
    if (!v) {
      res.status(404).end();
      return;
    }
    let bytes = vendorBytes.get(req.params.file);
    if (!bytes) vendorBytes.set(req.params.file, (bytes = fs.readFileSync(v.file)));
    res.type(v.type).set('cache-control', 'max-age=3600').send(bytes);
  });
  app.get('/favicon.ico', (_req, res) => void res.status(204).end());
  app.use(express.static(WEB, { index: 'index.html', maxAge: 0 }));
  return app;
}
