// meshgate's Prometheus rules, written once here and rendered to
// observability/prometheus/meshgate-rules.yml (`meshgate prometheus-config` writes them beside
// the configuration; a unit test keeps the committed file equal to this).
//
// Recording rules: per service (the gateway's and sidecars' Envoy clusters, from the
// meshgate-envoy job) requests/s, 5xx/s, success ratio, p50/p95/p99 latency, bytes in and out;
// per model and tenant, tokens/s and time to first token (the LLM processor's GenAI metrics).
// 1m windows for charts, 5m for alerts.
//
// Alerts, each with a runbook: what it means, what to look at, what to do. Only how long a
// condition must hold (`for`) can be changed (the integration tests shorten it); the
// expressions and thresholds are the ones promtool tests.
import YAML from 'yaml';
import { JOBS } from '../shared/consul/metrics-meta.js';

export interface RuleOptions {
  /** How long each alert's condition must hold before it fires, by alert name. */
  readonly for?: Partial<Record<AlertName, string>>;
  /** The 5xx ratio (of all requests, 5-minute window) past which a service alerts. */
  readonly errorRatio?: number;
  /** The p99 latency objective, in milliseconds (model services are slow: 10 s by default). */
  readonly latencyObjectiveMs?: number;
}

/** Series from the proxies. */
export const ENVOY = `job="${JOBS.envoy}"`;
/**
 * The traffic each service takes is what its callers' proxies send it (the gateway's and the
 * sidecars' clusters named after it). Not services: the proxies' own clusters (the stats
 * listener's admin, the xDS server), and a sidecar's local_app (the same calls again, arriving).
 */
export const NOT_SERVICES = ['meshgate~admin', 'xds_server', 'local_app'] as const;
const SERVICES = `${ENVOY},service!~"${NOT_SERVICES.join('|')}"`;

// Requests are counted as Envoy completes them (every answer, the ones Envoy made itself too, as
// its 5xx counter counts them); upstream_rq_total counts only those sent to an instance.
const rate = (metric: string, window: string, extra = '') => `sum by (service) (rate(${metric}{${SERVICES}${extra}}[${window}]))`;
/**
 * Calls a proxy refused at once for a cluster's bounds: past its waiting bound (pending), or past
 * its bound in flight (active: how Envoy counts a gRPC stream refused, a model's door full).
 */
const REFUSED_FOR_BOUNDS = (window: string) => {
  // Both, or whichever a cluster has (Envoy makes each counter at its first count); one selector
  // over both names is no good: their rates lose the name and collide.
  const [pending, active] = ['envoy_cluster_upstream_rq_pending_overflow', 'envoy_cluster_upstream_rq_active_overflow'].map((m) => rate(m, window));
  return `((${pending} + ${active}) or ${pending} or ${active})`;
};
const quantile = (q: number, window: string) => `histogram_quantile(${q}, sum by (service, le) (rate(envoy_cluster_upstream_rq_time_bucket{${SERVICES}}[${window}])))`;

function recording(): Array<{ record: string; expr: string }> {
  const out: Array<{ record: string; expr: string }> = [];
  for (const w of ['1m', '5m']) {
    out.push(
      { record: `service:meshgate_requests:rate${w}`, expr: rate('envoy_cluster_upstream_rq_completed', w) },
      { record: `service:meshgate_requests_5xx:rate${w}`, expr: rate('envoy_cluster_upstream_rq_xx', w, ',envoy_response_code_class="5"') },
      // Envoy makes a service's 5xx counter at its first 5xx: until then, none is 0.
      {
        record: `service:meshgate_success_ratio:rate${w}`,
        expr: `1 - ((service:meshgate_requests_5xx:rate${w} or service:meshgate_requests:rate${w} * 0) / service:meshgate_requests:rate${w})`,
      },
    );
    for (const q of [50, 95, 99]) out.push({ record: `service:meshgate_latency_ms:p${q}_${w}`, expr: quantile(q / 100, w) });
  }
  out.push(
    // Calls the proxies refused at once for a service's bounds (503 upstream_overloaded): the console's "refused/s".
    { record: 'service:meshgate_refused_overload:rate1m', expr: REFUSED_FOR_BOUNDS('1m') },
    { record: 'service:meshgate_request_bytes:rate1m', expr: rate('envoy_cluster_upstream_rq_body_size_sum', '1m') },
    { record: 'service:meshgate_response_bytes:rate1m', expr: rate('envoy_cluster_upstream_rs_body_size_sum', '1m') },
    // Model services' tokens and time to first token by service (the processor's `service` label).
    { record: 'service:gen_ai_tokens:rate1m', expr: 'sum by (service) (rate(gen_ai_client_token_usage_sum[1m]))' },
    {
      record: 'service:gen_ai_time_to_first_token_seconds:p50_5m',
      expr: 'histogram_quantile(0.5, sum by (service, le) (rate(gen_ai_server_time_to_first_token_seconds_bucket[5m])))',
    },
    {
      record: 'model_tenant:gen_ai_tokens:rate1m',
      expr: 'sum by (gen_ai_request_model, tenant, gen_ai_token_type) (rate(gen_ai_client_token_usage_sum[1m]))',
    },
    {
      record: 'model:gen_ai_time_to_first_token_seconds:p50_5m',
      expr: 'histogram_quantile(0.5, sum by (gen_ai_request_model, le) (rate(gen_ai_server_time_to_first_token_seconds_bucket[5m])))',
    },
    {
      record: 'model:gen_ai_time_to_first_token_seconds:p99_5m',
      expr: 'histogram_quantile(0.99, sum by (gen_ai_request_model, le) (rate(gen_ai_server_time_to_first_token_seconds_bucket[5m])))',
    },
  );
  return out;
}

export const ALERT_NAMES = [
  'MeshgateServiceErrorRatio',
  'MeshgateServiceLatencyObjective',
  'MeshgateNoHealthyInstance',
  'MeshgateProxyNacked',
  'MeshgateProxyStale',
  'MeshgateProxyDisconnected',
  'MeshgateConsulWatchErrors',
  'MeshgateRegistryDown',
  'MeshgateRatelimitBackendCircuitOpen',
  'MeshgateExtAuthzErrors',
  'MeshgateBudgetExhausted',
  'MeshgateConfigRefused',
  'MeshgateTargetDown',
  'MeshgateGatewayShedding',
  'MeshgateEnvoyOverloaded',
  'MeshgateAdmissionShedding',
  'MeshgatePluginBusy',
  'MeshgateModelPoolSaturated',
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

interface Alert {
  readonly alert: AlertName;
  readonly expr: string;
  readonly for: string;
  readonly severity: 'page' | 'ticket';
  readonly summary: string;
  readonly runbook: string;
}

function alerts(o: RuleOptions): Alert[] {
  const ratio = o.errorRatio ?? 0.05;
  const objective = o.latencyObjectiveMs ?? 10_000;
  const list: Array<Omit<Alert, 'for'> & { readonly defaultFor: string }> = [
    {
      alert: 'MeshgateServiceErrorRatio',
      expr: `service:meshgate_requests_5xx:rate5m / service:meshgate_requests:rate5m > ${ratio} and service:meshgate_requests:rate5m > 0.1`,
      defaultFor: '2m',
      severity: 'page',
      summary: `{{ $labels.service }}: {{ $value | humanizePercentage }} of requests answered 5xx (over ${ratio * 100}%)`,
      runbook:
        'The service answers 5xx, or Envoy does for it (no healthy instance, timeouts, resets). Look at the console (recent requests of the service, their response flags) or at envoy_cluster_upstream_rq_xx by instance; a single bad instance shows in outlier ejections. Roll back what changed, take the failing instances out (Consul maintenance), or add capacity.',
    },
    {
      alert: 'MeshgateServiceLatencyObjective',
      expr: `service:meshgate_latency_ms:p99_5m > ${objective}`,
      defaultFor: '5m',
      severity: 'ticket',
      summary: `{{ $labels.service }}: p99 latency {{ $value | humanize }} ms, over the ${objective} ms objective`,
      runbook:
        'Calls to the service are slower than its objective at the 99th percentile. Compare p50 (everything slow: capacity) with p99 (a tail: one instance, long prompts, retries); for model services compare time to first token. Scale out, or lower the load (rate limits, token budgets).',
    },
    {
      alert: 'MeshgateNoHealthyInstance',
      expr: `sum by (service) (envoy_cluster_membership_healthy{${SERVICES},service!~"meshgate~.*"}) == 0`,
      defaultFor: '1m',
      severity: 'page',
      summary: '{{ $labels.service }}: no healthy instance; its callers get 503',
      runbook:
        'Every instance of the service is critical in Consul, or gone (a vanished service keeps its route for --retain-vanished and answers 503). Check the instances\' Consul checks (consul catalog, the console\'s services view) and the processes behind them.',
    },
    {
      alert: 'MeshgateProxyNacked',
      expr: 'meshgate_xds_proxy_status{status="NACKED"} == 1',
      defaultFor: '1m',
      severity: 'page',
      summary: 'proxy {{ $labels.node_id }} rejects the configuration it was sent (NACK); it keeps serving its last good one',
      runbook:
        'Envoy refused what the xds-server sent. Its reason is in /debug/proxies of the xds-server (last_nack.message) and in the console\'s proxies view; `meshgate proxy-status` shows it too. The proxy serves its last accepted config meanwhile. Fix the config entry or the service meta that produced it; the refusal is never retried in a loop.',
    },
    {
      alert: 'MeshgateProxyStale',
      expr: 'meshgate_xds_proxy_status{status="STALE"} == 1',
      defaultFor: '5m',
      severity: 'ticket',
      summary: 'proxy {{ $labels.node_id }} has not acknowledged the latest configuration for a while',
      runbook:
        'The proxy is connected but has not acknowledged the newest version: it may be overloaded, or warming clusters that cannot come up (EDS for a cluster nobody answers). Look at its /debug/proxies entry (sent and acked versions) and at its own log.',
    },
    {
      alert: 'MeshgateProxyDisconnected',
      expr: `envoy_control_plane_connected_state{${ENVOY}} == 0`,
      defaultFor: '1m',
      severity: 'page',
      summary: 'proxy {{ $labels.node }} lost its xDS stream; it serves its last configuration and gets no changes',
      runbook:
        'The Envoy cannot reach the xds-server (down, restarting, network). It keeps serving what it has, so traffic flows, but no change reaches it. Check the xds-server (its /readyz, meshgate_xds_connected_proxies) and the path between them.',
    },
    {
      alert: 'MeshgateConsulWatchErrors',
      expr: 'sum by (job, instance) (increase(meshgate_consul_watch_errors_total[5m])) > 3',
      defaultFor: '0m',
      severity: 'ticket',
      summary: '{{ $labels.instance }} fails to watch Consul; it serves its last view meanwhile',
      runbook:
        'Blocking queries to Consul fail (Consul down, ACL token, network). The component keeps its last good view, so changes stop arriving. Check Consul\'s health and the component\'s log (the watch that fails is a label of the metric).',
    },
    {
      alert: 'MeshgateRegistryDown',
      expr: 'meshgate_registry_up == 0',
      defaultFor: '1m',
      severity: 'page',
      summary: '{{ $labels.instance }} cannot read the {{ $labels.registry }} registry; it serves its last view of it',
      runbook:
        'The xds-server\'s watches or polls of this registry fail (ZooKeeper or Eureka down, a lost session, credentials refused, an answer that is not a registry). Every proxy keeps the last good view, so traffic flows, but no instance change from that registry arrives. /debug/registries names the reason; check the registry\'s own health and the xds-server\'s log.',
    },
    {
      alert: 'MeshgateRatelimitBackendCircuitOpen',
      expr: 'meshgate_ratelimit_backend_circuit_open == 1',
      defaultFor: '1m',
      severity: 'page',
      summary: '{{ $labels.instance }}: the rate-limit backend (Redis) circuit is open; limits follow the failure mode',
      runbook:
        'ratelimit-service stopped asking its Redis after repeated failures. Requests are let through (or refused, with --ratelimit-fail-closed at the gateway) until it recovers; model calls under budgets are refused, 503 ratelimit_unavailable (let through uncharged with --llm-budgets-fail-open). Check Redis (up, memory, latency), meshgate_ratelimit_backend_failures_total and meshgate_ratelimit_budget_operations_total{result="backend_unavailable"}.',
    },
    {
      alert: 'MeshgateExtAuthzErrors',
      expr: `sum by (job, instance) (rate(envoy_http_ext_authz_error{${ENVOY}}[5m])) > 0`,
      defaultFor: '1m',
      severity: 'page',
      summary: '{{ $labels.instance }}: calls to ext-authz fail; those requests are refused (fail closed)',
      runbook:
        'Envoy could not get an answer from ext-authz (down, over its timeout, overloaded): the requests get 503 auth_unavailable. Check ext-authz\'s instances in Consul, its /metrics (check duration) and its log.',
    },
    {
      alert: 'MeshgateBudgetExhausted',
      expr: 'sum by (descriptor) (increase(meshgate_ratelimit_budget_operations_total{operation="reserve",result="refused"}[5m])) > 0',
      defaultFor: '0m',
      severity: 'ticket',
      summary: 'budget {{ $labels.descriptor }} refuses calls: what they may use does not fit in what is left',
      runbook:
        'A tenant, key or model has spent its token or cost budget, or nearly: each call reserves what it may use (its body\'s bytes and max_tokens, at the model\'s price) and is refused with 429 and Retry-After when that does not fit. Expected when budgets do their job; raise the budget in the rate-limit config if the spending is legitimate, or have callers send a smaller max_tokens.',
    },
    {
      alert: 'MeshgateConfigRefused',
      expr: 'sum by (job, instance) (increase(meshgate_config_entry_refusals_total[10m])) > 0 or max by (job, instance) (meshgate_mesh_problems) > 0',
      defaultFor: '0m',
      severity: 'ticket',
      summary: '{{ $labels.instance }}: a config entry or service setting is refused; the last good one stays in force',
      runbook:
        'Someone wrote a config entry or service meta that does not validate. Its reason is in the xds-server\'s /debug/config-entries and /debug/mesh (and the console). Fix it or run `meshgate validate` before writing to Consul.',
    },
    {
      alert: 'MeshgateTargetDown',
      expr: `up{job=~"${JOBS.components}|${JOBS.envoy}"} == 0`,
      defaultFor: '1m',
      severity: 'ticket',
      summary: 'Prometheus cannot scrape {{ $labels.job }} target {{ $labels.instance }}',
      runbook:
        'A registered component or proxy does not answer its metrics endpoint. Prometheus\' targets page says why (connection refused, timeout). The process may be down, or its metrics address in the registration wrong.',
    },
    {
      alert: 'MeshgateGatewayShedding',
      expr: `${REFUSED_FOR_BOUNDS('5m')} > 0`,
      defaultFor: '5m',
      severity: 'ticket',
      summary: '{{ $labels.service }}: more calls than its bounds allow; the excess gets 503 upstream_overloaded with Retry-After',
      runbook:
        'The service is asked for more than it may have in flight and waiting (service-defaults Limits, or the defaults by kind in docs/configuration.md#overload), so the proxies refuse the rest at once instead of queueing it. Callers see fast 503s, the served calls keep their latency. Add instances, or raise MaxConcurrentRequests if the service has room (its own latency at the present load says so). A service named door~<model> is that model\'s calls at the gateway (its cluster\'s in flight plus waiting): the excess is refused before the LLM processor reads it; the model\'s services are the ones to grow.',
    },
    {
      alert: 'MeshgateEnvoyOverloaded',
      expr: `max by (job, instance) (envoy_overload_envoy_overload_actions_stop_accepting_requests_active{${ENVOY}}) > 0`,
      defaultFor: '1m',
      severity: 'page',
      summary: '{{ $labels.instance }}: Envoy is near its heap bound and refuses every new request (503 gateway_overloaded)',
      runbook:
        'The overload manager\'s heap pressure passed 0.95 of MAX_HEAP_BYTES (bootstrap). Usually many large bodies or streams held at once. Look at envoy_overload_envoy_resource_monitors_fixed_heap_pressure, downstream connections and buffered bytes; raise MAX_HEAP_BYTES if the machine has room, or lower body limits.',
    },
    {
      alert: 'MeshgateAdmissionShedding',
      expr: `sum by (job, instance) (rate(envoy_http_admission_control_rq_rejected{${ENVOY}}[5m])) > 0`,
      defaultFor: '5m',
      severity: 'ticket',
      summary: '{{ $labels.instance }}: the gateway sheds calls before their checks, on routes whose calls are refused for load (503 load_shed)',
      runbook:
        'A route that asks ext-authz or the rate-limit service saw more of its calls refused for load (503) in its window than its SuccessRatePercent allows (10% by default), so its admission gate refuses a share of the next calls before they are checked (service-defaults Admission; docs/configuration.md#overload). The checks are spared for calls the service can take. MeshgateGatewayShedding names the service past its bounds; grow it, or find what makes it answer 503.',
    },
    {
      alert: 'MeshgatePluginBusy',
      expr: 'sum by (job, instance) (rate(meshgate_grpc_calls_refused_busy_total[5m])) > 0',
      defaultFor: '1m',
      severity: 'page',
      summary: '{{ $labels.instance }}: a plug-in refuses calls at its bound of calls in flight; the routes answer by their failure mode',
      runbook:
        'ext-authz, ratelimit-service or the processor has --h2-max-calls-in-flight calls open (its backend is slow: Redis, a JWKS or introspection endpoint, the cache), so it refuses more at once. Requests on those routes get 503 (fail closed) or pass (rate limits failing open). Check meshgate_grpc_calls_in_flight and the plug-in\'s own backend latency; add plug-in instances.',
    },
    {
      alert: 'MeshgateModelPoolSaturated',
      // Calls waiting at every evaluation for the whole `for` (a queue that empties between scrapes still counts).
      expr: 'sum by (gen_ai_request_model) (max_over_time(meshgate_llm_queue_length[1m])) > 0',
      defaultFor: '5m',
      severity: 'ticket',
      summary: '{{ $labels.gen_ai_request_model }}: every instance is saturated; calls wait at the gateway and sheddable ones are refused (429)',
      runbook:
        "Every instance serving the model has --picker-queue-threshold calls waiting or its KV cache past --picker-kv-threshold, so the processor queues calls (critical first, fair between tenants) and refuses sheddable ones. See meshgate_llm_queue_wait_seconds and meshgate_llm_queue_refused_total by priority and tenant: if standard calls wait long or are refused (waited_too_long, queue_full), add instances; if one tenant fills the queue, lower its policy's model_priority or model_weight.",
    },
  ];
  return list.map(({ defaultFor, ...a }) => ({ ...a, for: o.for?.[a.alert] ?? defaultFor }));
}

/** The rule groups, as Prometheus reads them. */
export function ruleGroups(o: RuleOptions = {}): unknown {
  return {
    groups: [
      { name: 'meshgate-recording', rules: recording() },
      {
        name: 'meshgate-alerts',
        rules: alerts(o).map((a) => ({
          alert: a.alert,
          expr: a.expr,
          for: a.for,
          labels: { severity: a.severity },
          annotations: { summary: a.summary, runbook: a.runbook },
        })),
      },
    ],
  };
}

export function rulesYaml(o: RuleOptions = {}): string {
  return `# Generated from observability/rules.ts (meshgate prometheus-config writes it); do not edit.\n${YAML.stringify(ruleGroups(o), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
