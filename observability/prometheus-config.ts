// The Prometheus configuration meshgate generates: everything it scrapes is found in Consul, by
// the metrics meta every registration carries (metrics-address, metrics-port, metrics-path;
// shared/consul/metrics-meta.ts) — with Prometheus' own consul_sd_configs, or, for a Prometheus
// built without it (Debian's package), through the xds-server's view of Consul
// (GET /prometheus/targets, http_sd_configs, the same labels) —
//   job meshgate-envoy: every proxy the xds-server registered (its stats listener), with
//     Envoy's cluster name copied to `service`, and `?usedonly` so stats never written are left out;
//   job meshgate: every other registration with metrics meta (xds-server, ext-authz,
//     ratelimit-service, ext-proc, and any service of the operator's that carries it).
// Labels come from the registration (service, instance = its ID, role, node), never from a
// request: no client-sent value becomes a label.
import YAML from 'yaml';
import { METRICS_META } from '../shared/consul/metrics-meta.js';
import { consulMetaLabel } from '../xds-server/admin/prometheus-targets.js';

export type Discovery =
  | { readonly kind: 'consul'; readonly host: string; readonly port: number; readonly token?: string }
  /** The xds-server's admin URL (http://host:port). */
  | { readonly kind: 'xds-server'; readonly url: string };

export interface PrometheusConfigOptions {
  readonly discovery: Discovery;
  /** The service the xds-server registers proxies as (--proxy-metrics-service). */
  readonly proxyService?: string;
  readonly scrapeInterval?: string;
  readonly evaluationInterval?: string;
  /** Rule files, relative to the configuration file. */
  readonly ruleFiles?: readonly string[];
  /** Alertmanagers to send alerts to ("host:port"). */
  readonly alertmanagers?: readonly string[];
}

const meta = consulMetaLabel;

/**
 * Envoy's per-cluster histograms meshgate reads nowhere (dropped whole), and the buckets of the
 * body-size ones (their sums are read).
 */
const UNREAD_BUCKETS =
  'envoy_cluster_(external_upstream_rq_time|upstream_cx_connect_ms|upstream_cx_length_ms|upstream_rq_headers_size|upstream_rs_headers_size)_(bucket|sum|count)|envoy_cluster_upstream_(rq|rs)_body_size_bucket';

function discovery(d: Discovery): Record<string, unknown> {
  if (d.kind === 'consul') return { consul_sd_configs: [{ server: `${d.host}:${d.port}`, ...(d.token ? { token: d.token } : {}), refresh_interval: '5s' }] };
  return { http_sd_configs: [{ url: `${d.url.replace(/\/$/, '')}/prometheus/targets`, refresh_interval: '5s' }] };
}

function relabelling(): unknown[] {
  return [
    // Only what says where its metrics are.
    { source_labels: [meta(METRICS_META.port)], regex: '.+', action: 'keep' },
    { source_labels: [meta(METRICS_META.address), meta(METRICS_META.port)], regex: '(.+);(.+)', target_label: '__address__', replacement: '$1:$2' },
    { source_labels: [meta(METRICS_META.path)], regex: '(.+)', target_label: '__metrics_path__' },
    { source_labels: ['__meta_consul_service_id'], target_label: 'instance' },
    { source_labels: ['__meta_consul_service'], target_label: 'consul_service' },
    { source_labels: [meta('role')], regex: '(.+)', target_label: 'role' },
    { source_labels: [meta('node')], regex: '(.+)', target_label: 'node' },
    { source_labels: [meta('service')], regex: '(.+)', target_label: 'proxy_service' },
  ];
}

export function prometheusConfig(o: PrometheusConfigOptions): unknown {
  const proxyService = o.proxyService ?? 'meshgate-envoy';
  const found = discovery(o.discovery);
  return {
    // A scrape may take as long as its interval (Prometheus refuses a longer timeout).
    global: { scrape_interval: o.scrapeInterval ?? '15s', evaluation_interval: o.evaluationInterval ?? '15s', scrape_timeout: o.scrapeInterval ?? '10s' },
    ...(o.ruleFiles?.length ? { rule_files: [...o.ruleFiles] } : {}),
    ...(o.alertmanagers?.length ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [...o.alertmanagers] }] }] } } : {}),
    scrape_configs: [
      {
        job_name: 'meshgate-envoy',
        ...found,
        params: { usedonly: [''] },
        relabel_configs: [{ source_labels: ['__meta_consul_service'], regex: proxyService, action: 'keep' }, ...relabelling()],
        metric_relabel_configs: [
          // Envoy's cluster is the service it calls.
          { source_labels: ['envoy_cluster_name'], regex: '(.+)', target_label: 'service' },
          // The series budget (150 per service per proxy, bench/observability.ts): histograms no
          // rule or dashboard reads are dropped.
          { source_labels: ['__name__'], regex: UNREAD_BUCKETS, action: 'drop' },
        ],
      },
      {
        job_name: 'meshgate',
        ...found,
        relabel_configs: [{ source_labels: ['__meta_consul_service'], regex: proxyService, action: 'drop' }, ...relabelling()],
      },
    ],
  };
}

export function prometheusConfigYaml(o: PrometheusConfigOptions): string {
  return `# Generated by meshgate (observability/prometheus-config.ts).\n${YAML.stringify(prometheusConfig(o), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
