// meshgate's Prometheus rules and configuration through the real promtool: `check config`,
// `check rules`, and `test rules` with input series for every alert — it fires (with its labels
// and its rendered annotations) and it resolves. The committed rules file (docker-compose's) is
// the one the code renders.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { repoRoot, toolPath } from '../../launcher/repo.js';
import { ALERT_NAMES, ruleGroups, rulesYaml, type AlertName } from '../../observability/rules.js';
import { RULES_FILE, writePrometheusConfig } from '../../observability/write.js';

const promtool = (...args: string[]) => {
  const r = spawnSync(toolPath('promtool'), args, { encoding: 'utf8', timeout: 60_000 });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
};

const runbooks = new Map(
  ((ruleGroups() as { groups: Array<{ rules: Array<{ alert?: string; annotations?: { runbook: string } }> }> }).groups[1]!.rules).map((r) => [r.alert as AlertName, r.annotations!.runbook]),
);

interface AlertCase {
  readonly alert: AlertName;
  readonly series: ReadonlyArray<readonly [string, string]>;
  /** When it fires, with these labels (beside severity) and this summary. */
  readonly fires: { readonly at: string; readonly labels: Record<string, string>; readonly severity: 'page' | 'ticket'; readonly summary: string };
  /** When it is over. */
  readonly resolvedAt: string;
  /** Not yet firing here (its `for` not yet over), when the case shows it. */
  readonly pendingAt?: string;
}

const E = 'job="meshgate-envoy",instance="meshgate-envoy-gw-1"';
const M = (instance: string) => `job="meshgate",instance="${instance}"`;

const CASES: AlertCase[] = [
  {
    alert: 'MeshgateServiceErrorRatio',
    series: [
      [`envoy_cluster_upstream_rq_completed{${E},service="llm-chat"}`, '0+600x30'],
      [`envoy_cluster_upstream_rq_xx{${E},service="llm-chat",envoy_response_code_class="5"}`, '0+60x15 900+0x15'],
      // Another service, healthy, and the proxies' own clusters: never alert.
      [`envoy_cluster_upstream_rq_completed{${E},service="embed"}`, '0+600x30'],
      [`envoy_cluster_upstream_rq_xx{${E},service="embed",envoy_response_code_class="5"}`, '0+0x30'],
      [`envoy_cluster_upstream_rq_completed{${E},service="xds_server"}`, '0+600x30'],
      [`envoy_cluster_upstream_rq_xx{${E},service="xds_server",envoy_response_code_class="5"}`, '0+600x30'],
    ],
    pendingAt: '2m',
    fires: { at: '10m', labels: { service: 'llm-chat' }, severity: 'page', summary: 'llm-chat: 10% of requests answered 5xx (over 5%)' },
    resolvedAt: '25m',
  },
  {
    alert: 'MeshgateServiceLatencyObjective',
    series: [
      [`envoy_cluster_upstream_rq_time_bucket{${E},service="llm-chat",le="1000"}`, '0+0x10 0+10x20'],
      [`envoy_cluster_upstream_rq_time_bucket{${E},service="llm-chat",le="30000"}`, '0+10x30'],
      [`envoy_cluster_upstream_rq_time_bucket{${E},service="llm-chat",le="+Inf"}`, '0+10x30'],
    ],
    pendingAt: '4m',
    fires: { at: '9m', labels: { service: 'llm-chat' }, severity: 'ticket', summary: 'llm-chat: p99 latency 29.71k ms, over the 10000 ms objective' },
    resolvedAt: '25m',
  },
  {
    alert: 'MeshgateNoHealthyInstance',
    series: [
      [`envoy_cluster_membership_healthy{${E},service="llm-chat"}`, '1x5 0x5 1x5'],
      [`envoy_cluster_membership_healthy{${E},service="meshgate~unrouted"}`, '0x15'],
    ],
    fires: { at: '8m', labels: { service: 'llm-chat' }, severity: 'page', summary: 'llm-chat: no healthy instance; its callers get 503' },
    resolvedAt: '13m',
  },
  {
    alert: 'MeshgateProxyNacked',
    series: [[`meshgate_xds_proxy_status{${M('xds-server-18000')},node_id="gw-1",status="NACKED"}`, '1 1 1 1 1 _ _ _ _ _']],
    fires: {
      at: '4m',
      labels: { job: 'meshgate', instance: 'xds-server-18000', node_id: 'gw-1', status: 'NACKED' },
      severity: 'page',
      summary: 'proxy gw-1 rejects the configuration it was sent (NACK); it keeps serving its last good one',
    },
    resolvedAt: '10m',
  },
  {
    alert: 'MeshgateProxyStale',
    series: [[`meshgate_xds_proxy_status{${M('xds-server-18000')},node_id="gw-1",status="STALE"}`, '1x9 _x10']],
    pendingAt: '4m',
    fires: { at: '8m', labels: { job: 'meshgate', instance: 'xds-server-18000', node_id: 'gw-1', status: 'STALE' }, severity: 'ticket', summary: 'proxy gw-1 has not acknowledged the latest configuration for a while' },
    resolvedAt: '15m',
  },
  {
    alert: 'MeshgateProxyDisconnected',
    series: [[`envoy_control_plane_connected_state{${E},node="gw-1"}`, '1 1 0 0 0 0 1 1 1 1']],
    fires: { at: '4m', labels: { job: 'meshgate-envoy', instance: 'meshgate-envoy-gw-1', node: 'gw-1' }, severity: 'page', summary: 'proxy gw-1 lost its xDS stream; it serves its last configuration and gets no changes' },
    resolvedAt: '8m',
  },
  {
    alert: 'MeshgateConsulWatchErrors',
    series: [[`meshgate_consul_watch_errors_total{${M('xds-server-1')},watch="catalog"}`, '0 2 4 6 8 8 8 8 8 8 8 8 8']],
    fires: { at: '5m', labels: { job: 'meshgate', instance: 'xds-server-1' }, severity: 'ticket', summary: 'xds-server-1 fails to watch Consul; it serves its last view meanwhile' },
    resolvedAt: '12m',
  },
  {
    alert: 'MeshgateRegistryDown',
    series: [
      [`meshgate_registry_up{${M('xds-server-1')},registry="zookeeper"}`, '1 1 0 0 0 0 1 1 1'],
      [`meshgate_registry_up{${M('xds-server-1')},registry="consul"}`, '1x9'],
    ],
    pendingAt: '2m',
    fires: { at: '4m', labels: { job: 'meshgate', instance: 'xds-server-1', registry: 'zookeeper' }, severity: 'page', summary: 'xds-server-1 cannot read the zookeeper registry; it serves its last view of it' },
    resolvedAt: '7m',
  },
  {
    alert: 'MeshgateRatelimitBackendCircuitOpen',
    series: [[`meshgate_ratelimit_backend_circuit_open{${M('ratelimit-8081')}}`, '0 1 1 1 1 0 0 0']],
    fires: { at: '3m', labels: { job: 'meshgate', instance: 'ratelimit-8081' }, severity: 'page', summary: 'ratelimit-8081: the rate-limit backend (Redis) circuit is open; limits follow the failure mode' },
    resolvedAt: '7m',
  },
  {
    alert: 'MeshgateExtAuthzErrors',
    series: [[`envoy_http_ext_authz_error{${E},envoy_http_conn_manager_prefix="gateway"}`, '0+5x10 50+0x10']],
    fires: { at: '6m', labels: { job: 'meshgate-envoy', instance: 'meshgate-envoy-gw-1' }, severity: 'page', summary: 'meshgate-envoy-gw-1: calls to ext-authz fail; those requests are refused (fail closed)' },
    resolvedAt: '18m',
  },
  {
    alert: 'MeshgateBudgetExhausted',
    series: [
      [`meshgate_ratelimit_budget_operations_total{${M('ratelimit-1')},operation="reserve",result="refused",descriptor="generic_key_dollars.tenant"}`, '0 0 3 3 3 3 3 3 3 3 3 3'],
      // Granted reservations and settlements: a budget at work, not exhausted.
      [`meshgate_ratelimit_budget_operations_total{${M('ratelimit-1')},operation="reserve",result="granted",descriptor="generic_key_tokens.tenant"}`, '0 5 10 15 20 25 30 35 40 45 50 55'],
      [`meshgate_ratelimit_budget_operations_total{${M('ratelimit-1')},operation="settle",result="settled",descriptor="generic_key_tokens.tenant"}`, '0 5 10 15 20 25 30 35 40 45 50 55'],
      // Over a request-count limit: not a budget.
      [`meshgate_ratelimit_over_limit_total{${M('ratelimit-1')},domain="meshgate",descriptor="generic_key_llm"}`, '0 0 3 3 3 3 3 3 3 3 3 3'],
    ],
    fires: { at: '3m', labels: { descriptor: 'generic_key_dollars.tenant' }, severity: 'ticket', summary: 'budget generic_key_dollars.tenant refuses calls: what they may use does not fit in what is left' },
    resolvedAt: '10m',
  },
  {
    alert: 'MeshgateConfigRefused',
    series: [
      [`meshgate_config_entry_refusals_total{${M('xds-server-1')}}`, '0 0 1x14'],
      [`meshgate_mesh_problems{${M('xds-server-1')}}`, '0x16'],
    ],
    fires: { at: '3m', labels: { job: 'meshgate', instance: 'xds-server-1' }, severity: 'ticket', summary: 'xds-server-1: a config entry or service setting is refused; the last good one stays in force' },
    resolvedAt: '15m',
  },
  {
    alert: 'MeshgateTargetDown',
    series: [[`up{${M('ext-authz-9191')}}`, '1 0 0 0 1 1']],
    fires: { at: '3m', labels: { job: 'meshgate', instance: 'ext-authz-9191' }, severity: 'ticket', summary: 'Prometheus cannot scrape meshgate target ext-authz-9191' },
    resolvedAt: '5m',
  },
  {
    alert: 'MeshgateGatewayShedding',
    series: [
      // Past its waiting bound and past its bound in flight (a gRPC stream, a model's door): both refusals.
      [`envoy_cluster_upstream_rq_pending_overflow{${E},service="chat"}`, '0+15x12 180x12'],
      [`envoy_cluster_upstream_rq_active_overflow{${E},service="chat"}`, '0+15x12 180x12'],
      // The proxies' own clusters are not services.
      [`envoy_cluster_upstream_rq_pending_overflow{${E},service="xds_server"}`, '0+30x24'],
    ],
    fires: { at: '8m', labels: { service: 'chat' }, severity: 'ticket', summary: 'chat: more calls than its bounds allow; the excess gets 503 upstream_overloaded with Retry-After' },
    pendingAt: '3m',
    resolvedAt: '20m',
  },
  {
    alert: 'MeshgateEnvoyOverloaded',
    series: [[`envoy_overload_envoy_overload_actions_stop_accepting_requests_active{${E}}`, '0 0 1 1 1 0 0']],
    fires: { at: '4m', labels: { job: 'meshgate-envoy', instance: 'meshgate-envoy-gw-1' }, severity: 'page', summary: 'meshgate-envoy-gw-1: Envoy is near its heap bound and refuses every new request (503 gateway_overloaded)' },
    resolvedAt: '6m',
  },
  {
    alert: 'MeshgateAdmissionShedding',
    series: [[`envoy_http_admission_control_rq_rejected{${E},envoy_http_conn_manager_prefix=""}`, '0+60x10 600x12']],
    fires: { at: '7m', labels: { job: 'meshgate-envoy', instance: 'meshgate-envoy-gw-1' }, severity: 'ticket', summary: 'meshgate-envoy-gw-1: the gateway sheds calls before their checks, on routes whose calls are refused for load (503 load_shed)' },
    pendingAt: '3m',
    resolvedAt: '20m',
  },
  {
    alert: 'MeshgatePluginBusy',
    series: [[`meshgate_grpc_calls_refused_busy_total{${M('ext-authz-9191')}}`, '0+100x5 500x10']],
    fires: { at: '3m', labels: { job: 'meshgate', instance: 'ext-authz-9191' }, severity: 'page', summary: 'ext-authz-9191: a plug-in refuses calls at its bound of calls in flight; the routes answer by their failure mode' },
    resolvedAt: '12m',
  },
  {
    alert: 'MeshgateModelPoolSaturated',
    series: [[`meshgate_llm_queue_length{${M('ext-proc-9194')},gen_ai_request_model="llama",priority="standard"}`, '0 0 5x8 0x10']],
    fires: { at: '8m', labels: { gen_ai_request_model: 'llama' }, severity: 'ticket', summary: 'llama: every instance is saturated; calls wait at the gateway and sheddable ones are refused (429)' },
    resolvedAt: '12m',
  },
];

function testFile(): unknown {
  return {
    rule_files: [RULES_FILE],
    evaluation_interval: '1m',
    tests: [
      {
        name: 'recorded series',
        interval: '1m',
        input_series: [
          // A service that never answered 5xx has no 5xx counter at all (Envoy makes it at the first).
          { series: `envoy_cluster_upstream_rq_completed{${E},service="clean"}`, values: '0+60x10' },
          { series: `envoy_cluster_upstream_rq_completed{${E},service="flaky"}`, values: '0+60x10' },
          { series: `envoy_cluster_upstream_rq_xx{${E},service="flaky",envoy_response_code_class="5"}`, values: '0+15x10' },
        ],
        promql_expr_test: [
          { expr: 'service:meshgate_requests:rate5m', eval_time: '10m', exp_samples: [{ labels: 'service:meshgate_requests:rate5m{service="clean"}', value: 1 }, { labels: 'service:meshgate_requests:rate5m{service="flaky"}', value: 1 }] },
          { expr: 'service:meshgate_success_ratio:rate5m', eval_time: '10m', exp_samples: [{ labels: 'service:meshgate_success_ratio:rate5m{service="clean"}', value: 1 }, { labels: 'service:meshgate_success_ratio:rate5m{service="flaky"}', value: 0.75 }] },
        ],
      },
      ...CASES.map((c) => ({
      name: c.alert,
      interval: '1m',
      input_series: c.series.map(([series, values]) => ({ series, values })),
      alert_rule_test: [
        ...(c.pendingAt ? [{ eval_time: c.pendingAt, alertname: c.alert, exp_alerts: [] }] : []),
        {
          eval_time: c.fires.at,
          alertname: c.alert,
          exp_alerts: [{ exp_labels: { ...c.fires.labels, severity: c.fires.severity }, exp_annotations: { summary: c.fires.summary, runbook: runbooks.get(c.alert) } }],
        },
        { eval_time: c.resolvedAt, alertname: c.alert, exp_alerts: [] },
      ],
    })),
    ],
  };
}

describe('Prometheus rules and configuration (promtool)', () => {
  it('has a test case for every alert', () => {
    assert.deepEqual(CASES.map((c) => c.alert).sort(), [...ALERT_NAMES].sort());
  });

  it('passes promtool check config and check rules, both discoveries', () => {
    for (const discovery of [{ kind: 'xds-server', url: 'http://127.0.0.1:18001' }, { kind: 'consul', host: '127.0.0.1', port: 8500 }] as const) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-prom-'));
      try {
        const [config] = writePrometheusConfig(dir, { discovery, alertmanagers: ['127.0.0.1:9093'] });
        const r = promtool('check', 'config', config!);
        // Debian's promtool knows no consul_sd_configs (its Prometheus is built without them);
        // that configuration is for docker-compose's prom/prometheus.
        if (discovery.kind === 'consul' && /consul_sd_configs not found/.test(r.out)) continue;
        assert.ok(r.ok, r.out);
        assert.match(r.out, /SUCCESS: \d+ rules found/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('fires and resolves every alert on its input series, with its labels and annotations (promtool test rules)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-promtest-'));
    try {
      fs.writeFileSync(path.join(dir, RULES_FILE), rulesYaml());
      fs.writeFileSync(path.join(dir, 'alerts.test.yml'), YAML.stringify(testFile(), { lineWidth: 0 }));
      const r = promtool('test', 'rules', path.join(dir, 'alerts.test.yml'));
      assert.ok(r.ok, r.out);
      assert.match(r.out, /SUCCESS/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ships the rules file docker-compose mounts, as the code renders it', () => {
    assert.equal(fs.readFileSync(path.join(repoRoot(), 'observability', 'prometheus', RULES_FILE), 'utf8'), rulesYaml());
  });
});
