// Consul's view of a service instance → meshgate's Instance.
import { isPort } from '../../shared/host-port.js';
import { SIDECAR_PORT_META } from '../model/mesh.js';
import type { ConsulHealthEntry } from '../../shared/consul/client.js';
import type { HealthStatus, Instance } from '../model/mesh.js';

/**
 * The worst of an instance's checks (its own and its node's) decides:
 * passing → HEALTHY, warning → DEGRADED, critical or maintenance → UNHEALTHY.
 * An instance without checks is HEALTHY, as Consul itself treats it. An unknown status is
 * treated as critical: never route to what we cannot vouch for.
 */
export function healthOf(checks: ReadonlyArray<{ Status: string }>): HealthStatus {
  let worst: HealthStatus = 'HEALTHY';
  for (const c of checks) {
    switch (c.Status) {
      case 'passing':
        break;
      case 'warning':
        worst = 'DEGRADED';
        break;
      default: // critical, maintenance, anything unknown
        return 'UNHEALTHY';
    }
  }
  return worst;
}

export function instanceOf(entry: ConsulHealthEntry): Instance {
  const svc = entry.Service;
  const meta = { ...(svc.Meta ?? {}) };
  const health = healthOf(entry.Checks ?? []);
  const weights = svc.Weights;
  const weight = health === 'DEGRADED' ? (weights?.Warning ?? 1) : (weights?.Passing ?? 1);
  return {
    id: svc.ID,
    node: entry.Node.Node,
    address: svc.Address || entry.Node.Address,
    port: svc.Port,
    health,
    zone: meta['zone'] ?? entry.Node.Meta?.['zone'] ?? '',
    weight: Math.max(1, Math.floor(weight)),
    tags: [...(svc.Tags ?? [])].sort(),
    meta,
    ...(isPort(Number(meta[SIDECAR_PORT_META])) ? { sidecarPort: Number(meta[SIDECAR_PORT_META]) } : {}),
    registry: 'consul',
  };
}
