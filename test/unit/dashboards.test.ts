// meshgate's Grafana dashboards: the committed files are the ones the code renders, and every
// query names a series that exists — recorded by the rules, exported by a meshgate component,
// or served by Envoy (observability/envoy-metrics.ts, checked against a real Envoy).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { callGauges } from '../../shared/grpc/h2-metrics.js';
import { GrpcServer } from '../../shared/grpc/server.js';
import { repoRoot } from '../../launcher/repo.js';
import { AuthzMetrics } from '../../ext-authz/metrics.js';
import { ProcessorMetrics } from '../../ext-proc/metrics/processor.js';
import { DASHBOARDS, dashboardJson } from '../../observability/dashboards.js';
import { ENVOY_METRICS } from '../../observability/envoy-metrics.js';
import { ruleGroups } from '../../observability/rules.js';
import { RatelimitMetrics } from '../../ratelimit-service/metrics.js';
import { XdsMetrics } from '../../xds-server/admin/metrics.js';

const KEYWORDS = new Set(['by', 'without', 'and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/** The series a PromQL expression reads: identifiers that are not functions, labels or keywords. */
export function seriesOf(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)].filter((m) => !m[2] && !KEYWORDS.has(m[1]!.toLowerCase())).map((m) => m[1]!);
}

async function exported(): Promise<Set<string>> {
  const names = new Set<string>();
  const xds = new XdsMetrics();
  xds.watchProxies(() => []); // as the xds-server's main does
  xds.watchRegistries(() => []);
  // Every plug-in's gRPC server adds its calls in flight and refusals (shared/grpc/h2-metrics.ts).
  const calls = new Registry();
  callGauges(new GrpcServer({ services: [] }), calls);
  const registries: Registry[] = [xds.registry, new AuthzMetrics().registry, new RatelimitMetrics().registry, new ProcessorMetrics().registry, calls];
  for (const r of registries) {
    for (const m of await r.getMetricsAsJSON()) {
      names.add(m.name);
      if (m.type === ('histogram' as never)) for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
    }
  }
  return names;
}

describe('Grafana dashboards', () => {
  it('are the files docker-compose provisions', () => {
    for (const d of DASHBOARDS) assert.equal(fs.readFileSync(path.join(repoRoot(), 'observability', 'grafana', 'dashboards', `${d.uid}.json`), 'utf8'), dashboardJson(d), d.uid);
    const files = fs.readdirSync(path.join(repoRoot(), 'observability', 'grafana', 'dashboards')).sort();
    assert.deepEqual(files, DASHBOARDS.map((d) => `${d.uid}.json`).sort());
  });

  it('read only series the rules record, meshgate exports or Envoy serves', async () => {
    const known = new Set<string>([...ENVOY_METRICS, ...(await exported())]);
    for (const g of (ruleGroups() as { groups: Array<{ rules: Array<{ record?: string }> }> }).groups) for (const r of g.rules) if (r.record) known.add(r.record);
    const queries = DASHBOARDS.flatMap((d) => [...(d.variable ? [d.variable.query.replace(/^label_values\((.*),[^,]*\)$/, '$1')] : []), ...d.panels.flatMap((p) => p.queries.map((q) => q.expr))]);
    assert.ok(queries.length > 20);
    for (const q of queries) {
      const series = seriesOf(q);
      assert.ok(series.length > 0, `no series in ${q}`);
      for (const s of series) assert.ok(known.has(s), `${s} (in ${q}) is neither recorded, exported nor served by Envoy`);
    }
  });

  it('and so do the rules themselves', async () => {
    const known = new Set<string>([...ENVOY_METRICS, ...(await exported()), 'up']);
    const groups = (ruleGroups() as { groups: Array<{ rules: Array<{ record?: string; expr: string }> }> }).groups;
    for (const g of groups) for (const r of g.rules) if (r.record) known.add(r.record);
    // The processor's GenAI histograms are in its registry under their OpenTelemetry names.
    for (const g of groups) for (const r of g.rules) for (const s of seriesOf(r.expr)) assert.ok(known.has(s), `${s} (in ${r.expr}) is neither recorded, exported nor served by Envoy`);
  });

  it('finds the series of an expression', () => {
    assert.deepEqual(seriesOf('histogram_quantile(0.99, sum by (service, le) (rate(envoy_cluster_upstream_rq_time_bucket{job="x",a=~"b|c"}[5m])))'), ['envoy_cluster_upstream_rq_time_bucket']);
    assert.deepEqual(seriesOf('a:b:c / d > 0.05 and e > 0.1'), ['a:b:c', 'd', 'e']);
  });
});
