// What a Consul registration says so that Prometheus finds its metrics: the meta keys the
// generated Prometheus configuration (observability/) keeps and reads, one vocabulary for every
// component and every Envoy.
export const METRICS_META = { address: 'metrics-address', port: 'metrics-port', path: 'metrics-path' } as const;

export function metricsMetaOf(address: string, port: number, path: string): Record<string, string> {
  return { [METRICS_META.address]: address, [METRICS_META.port]: String(port), [METRICS_META.path]: path };
}
