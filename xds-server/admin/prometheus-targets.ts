// Prometheus HTTP service discovery from the xds-server's view of Consul, for a Prometheus built
// without Consul discovery (Debian's package has none): every instance whose registration says
// where its metrics are (metrics-port meta), with the labels Prometheus' own consul_sd_configs
// would give it, so one relabelling serves both (observability/prometheus-config.ts).
import { consulMetaLabel, METRICS_META } from '../../shared/consul/metrics-meta.js';
import type { MeshState } from '../model/mesh.js';

export interface TargetGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}


export function prometheusTargets(state: MeshState): TargetGroup[] {
  const out: TargetGroup[] = [];
  for (const service of state.services.values()) {
    for (const i of service.instances) {
      if (!i.meta[METRICS_META.port]) continue;
      const labels: Record<string, string> = {
        __meta_consul_service: service.name,
        __meta_consul_service_id: i.id,
        __meta_consul_node: i.node,
        __meta_consul_service_address: i.address,
        __meta_consul_service_port: String(i.port),
        __meta_consul_tags: `,${i.tags.join(',')},`,
        __meta_consul_health: i.health === 'HEALTHY' ? 'passing' : i.health === 'DEGRADED' ? 'warning' : 'critical',
      };
      for (const [k, v] of Object.entries(i.meta)) labels[consulMetaLabel(k)] = v;
      out.push({ targets: [`${i.address}:${i.port}`], labels });
    }
  }
  return out;
}
