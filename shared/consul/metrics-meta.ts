// What a Consul registration says so that Prometheus finds its metrics: the meta keys the
// generated Prometheus configuration (observability/) keeps and reads, one vocabulary for every
// component and every Envoy.
export const METRICS_META = { address: 'metrics-address', port: 'metrics-port', path: 'metrics-path' } as const;

export function metricsMetaOf(address: string, port: number, path: string): Record<string, string> {
  return { [METRICS_META.address]: address, [METRICS_META.port]: String(port), [METRICS_META.path]: path };
}

/** The Consul service the xds-server registers proxies as (its --proxy-metrics-service default). */
export const PROXY_METRICS_SERVICE = 'meshgate-envoy';

/** Prometheus' job names in the generated configuration: every proxy, and every other registration. */
export const JOBS = { envoy: 'meshgate-envoy', components: 'meshgate' } as const;

/** Consul's meta key as Prometheus' Consul discovery labels it (every character outside [a-zA-Z0-9_] becomes "_"). */
export const consulMetaLabel = (key: string): string => `__meta_consul_service_metadata_${key.replace(/[^a-zA-Z0-9_]/g, '_')}`;
