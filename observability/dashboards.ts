// meshgate's Grafana dashboards, written once here and rendered to
// observability/grafana/dashboards/*.json (docker-compose provisions them; a unit test keeps the
// files equal to this, and checks that every query names a series the rules or the exporters
// produce). Per service, per model, the control plane, the plug-ins.
import { ENVOY } from './rules.js';

export interface Panel {
  readonly title: string;
  readonly unit: string;
  readonly queries: ReadonlyArray<{ readonly expr: string; readonly legend: string }>;
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  /** A variable over a label of a series (label_values), when the dashboard has one. */
  readonly variable?: { readonly name: string; readonly query: string };
  readonly panels: readonly Panel[];
}

const S = 'service=~"$service"';

export const DASHBOARDS: readonly Dashboard[] = [
  {
    uid: 'meshgate-services',
    title: 'meshgate: services',
    variable: { name: 'service', query: 'label_values(service:meshgate_requests:rate1m, service)' },
    panels: [
      { title: 'requests/s', unit: 'reqps', queries: [{ expr: `service:meshgate_requests:rate1m{${S}}`, legend: '{{service}}' }] },
      { title: '5xx/s', unit: 'reqps', queries: [{ expr: `service:meshgate_requests_5xx:rate1m{${S}}`, legend: '{{service}}' }] },
      { title: 'success ratio', unit: 'percentunit', queries: [{ expr: `service:meshgate_success_ratio:rate1m{${S}}`, legend: '{{service}}' }] },
      {
        title: 'latency',
        unit: 'ms',
        queries: [
          { expr: `service:meshgate_latency_ms:p50_1m{${S}}`, legend: '{{service}} p50' },
          { expr: `service:meshgate_latency_ms:p95_1m{${S}}`, legend: '{{service}} p95' },
          { expr: `service:meshgate_latency_ms:p99_1m{${S}}`, legend: '{{service}} p99' },
        ],
      },
      {
        title: 'body bytes/s',
        unit: 'Bps',
        queries: [
          { expr: `service:meshgate_request_bytes:rate1m{${S}}`, legend: '{{service}} in' },
          { expr: `service:meshgate_response_bytes:rate1m{${S}}`, legend: '{{service}} out' },
        ],
      },
      { title: 'healthy instances', unit: 'short', queries: [{ expr: `sum by (service) (envoy_cluster_membership_healthy{${ENVOY},${S}})`, legend: '{{service}}' }] },
    ],
  },
  {
    uid: 'meshgate-models',
    title: 'meshgate: models',
    variable: { name: 'model', query: 'label_values(model_tenant:gen_ai_tokens:rate1m, gen_ai_request_model)' },
    panels: [
      { title: 'tokens/s by model and type', unit: 'short', queries: [{ expr: 'sum by (gen_ai_request_model, gen_ai_token_type) (model_tenant:gen_ai_tokens:rate1m{gen_ai_request_model=~"$model"})', legend: '{{gen_ai_request_model}} {{gen_ai_token_type}}' }] },
      { title: 'tokens/s by tenant', unit: 'short', queries: [{ expr: 'sum by (tenant) (model_tenant:gen_ai_tokens:rate1m{gen_ai_request_model=~"$model"})', legend: '{{tenant}}' }] },
      {
        title: 'time to first token',
        unit: 's',
        queries: [
          { expr: 'model:gen_ai_time_to_first_token_seconds:p50_5m{gen_ai_request_model=~"$model"}', legend: '{{gen_ai_request_model}} p50' },
          { expr: 'model:gen_ai_time_to_first_token_seconds:p99_5m{gen_ai_request_model=~"$model"}', legend: '{{gen_ai_request_model}} p99' },
        ],
      },
      {
        title: 'calls/s by status',
        unit: 'reqps',
        queries: [{ expr: 'sum by (gen_ai_operation_name, status_class) (rate(meshgate_llm_calls_total[1m]))', legend: '{{gen_ai_operation_name}} {{status_class}}' }],
      },
      { title: 'refused by the gateway', unit: 'reqps', queries: [{ expr: 'sum by (code) (rate(meshgate_llm_refused_requests_total[1m]))', legend: '{{code}}' }] },
      {
        // Which API dialects callers speak, and to which kind of service the gateway translates them.
        title: 'calls/s by dialect: caller → service',
        unit: 'reqps',
        queries: [{ expr: 'sum by (client_dialect, service_dialect) (rate(gen_ai_client_operation_duration_seconds_count{gen_ai_request_model=~"$model"}[1m]))', legend: '{{client_dialect}} → {{service_dialect}}' }],
      },
    ],
  },
  {
    uid: 'meshgate-control-plane',
    title: 'meshgate: control plane',
    panels: [
      { title: 'connected proxies', unit: 'short', queries: [{ expr: 'sum(meshgate_xds_connected_proxies)', legend: 'connected' }] },
      { title: 'proxies by sync status', unit: 'short', queries: [{ expr: 'count by (status) (meshgate_xds_proxy_status)', legend: '{{status}}' }] },
      { title: 'xDS pushes/s', unit: 'short', queries: [{ expr: 'sum by (type) (rate(meshgate_xds_pushes_total[1m]))', legend: '{{type}}' }] },
      { title: 'NACKs/s', unit: 'short', queries: [{ expr: 'sum by (type) (rate(meshgate_xds_nacks_total[1m]))', legend: '{{type}}' }] },
      { title: 'snapshot build p99', unit: 's', queries: [{ expr: 'histogram_quantile(0.99, sum by (le) (rate(meshgate_xds_snapshot_build_seconds_bucket[5m])))', legend: 'p99' }] },
      {
        title: 'refused config and Consul errors',
        unit: 'short',
        queries: [
          { expr: 'sum(increase(meshgate_config_entry_refusals_total[5m]))', legend: 'config entries refused' },
          { expr: 'max(meshgate_mesh_problems)', legend: 'service settings refused' },
          { expr: 'sum by (job) (increase(meshgate_consul_watch_errors_total[5m]))', legend: '{{job}} Consul watch errors' },
        ],
      },
      { title: 'proxies connected to the control plane (Envoy)', unit: 'short', queries: [{ expr: `sum by (role) (envoy_control_plane_connected_state{${ENVOY}})`, legend: '{{role}}' }] },
    ],
  },
  {
    uid: 'meshgate-plugins',
    title: 'meshgate: plug-ins',
    panels: [
      { title: 'ext-authz decisions/s', unit: 'reqps', queries: [{ expr: 'sum by (policy, result) (rate(meshgate_authz_decisions_total[1m]))', legend: '{{policy}} {{result}}' }] },
      { title: 'ext-authz check p99', unit: 's', queries: [{ expr: 'histogram_quantile(0.99, sum by (le) (rate(meshgate_authz_check_duration_seconds_bucket[5m])))', legend: 'p99' }] },
      { title: 'ext-authz unreachable (Envoy)', unit: 'reqps', queries: [{ expr: `sum(rate(envoy_http_ext_authz_error{${ENVOY}}[1m]))`, legend: 'errors' }] },
      {
        title: 'rate limits: near and over',
        unit: 'reqps',
        queries: [
          { expr: 'sum by (descriptor) (rate(meshgate_ratelimit_near_limit_total[1m]))', legend: '{{descriptor}} near' },
          { expr: 'sum by (descriptor) (rate(meshgate_ratelimit_over_limit_total[1m]))', legend: '{{descriptor}} over' },
        ],
      },
      {
        title: 'rate-limit backend',
        unit: 'short',
        queries: [
          { expr: 'max(meshgate_ratelimit_backend_up)', legend: 'up' },
          { expr: 'max(meshgate_ratelimit_backend_circuit_open)', legend: 'circuit open' },
        ],
      },
      {
        title: 'LLM processor streams/s, and direct calls/s (routed by Envoy without it)',
        unit: 'short',
        queries: [
          { expr: 'sum(rate(meshgate_llm_streams_total[1m]))', legend: 'streams' },
          { expr: 'sum(rate(meshgate_llm_direct_calls_total[1m]))', legend: 'direct calls' },
        ],
      },
    ],
  },
];

/** One dashboard as Grafana reads it (schema 39): a row of time series, two a line. */
export function grafanaDashboard(d: Dashboard): unknown {
  const ds = { type: 'prometheus', uid: 'prometheus' };
  return {
    uid: d.uid,
    title: d.title,
    schemaVersion: 39,
    editable: false,
    time: { from: 'now-1h', to: 'now' },
    refresh: '10s',
    tags: ['meshgate'],
    templating: {
      list: d.variable ? [{ name: d.variable.name, type: 'query', datasource: ds, query: { query: d.variable.query, refId: 'vars' }, includeAll: true, multi: true, current: { text: 'All', value: '$__all' }, refresh: 2 }] : [],
    },
    panels: d.panels.map((p, i) => ({
      id: i + 1,
      type: 'timeseries',
      title: p.title,
      datasource: ds,
      gridPos: { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w: 12, h: 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: p.queries.map((q, n) => ({ refId: String.fromCharCode(65 + n), datasource: ds, expr: q.expr, legendFormat: q.legend })),
    })),
  };
}

export function dashboardJson(d: Dashboard): string {
  return `${JSON.stringify(grafanaDashboard(d), null, 2)}\n`;
}
