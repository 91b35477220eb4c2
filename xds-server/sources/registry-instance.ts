// An instance from a registry without Consul's own fields (ZooKeeper, Eureka) → meshgate's
// Instance. Those registries carry a metadata map and little else, so what Consul has as
// fields comes from meshgate's meta keys there: `zone`, `weight`, `tags` (comma-separated) and
// `sidecar-port`, beside every service meta key (docs/registries.md).
import { isIP } from 'node:net';
import { isPort } from '../../shared/host-port.js';
import { isServiceName } from '../../shared/validate/names.js';
import { refused, valid, type Checked } from '../../shared/validate/result.js';
import { SIDECAR_PORT_META, type Instance, type RegistryName } from '../model/mesh.js';

export interface RegistryEntry {
  readonly registry: RegistryName;
  readonly id: string;
  /** Where it runs (a host name, or the address when the registry has none). */
  readonly node: string;
  readonly address: string;
  readonly port: number;
  readonly healthy: boolean;
  readonly meta: Readonly<Record<string, string>>;
}

export function registryInstance(e: RegistryEntry): Checked<Instance> {
  if (!isIP(e.address)) return refused('address', `${JSON.stringify(e.address)} is not an IP address (Envoy's endpoints are not looked up by name)`);
  if (!isPort(e.port)) return refused('port', `${JSON.stringify(e.port)} is not a port`);
  const weight = Number(e.meta['weight'] ?? 1);
  const sidecarPort = Number(e.meta[SIDECAR_PORT_META]);
  return valid({
    id: e.id,
    node: e.node,
    address: e.address,
    port: e.port,
    health: e.healthy ? 'HEALTHY' : 'UNHEALTHY',
    zone: e.meta['zone'] ?? '',
    weight: Number.isFinite(weight) ? Math.max(1, Math.floor(weight)) : 1,
    tags: (e.meta['tags'] ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean)
      .sort(),
    meta: e.meta,
    ...(isPort(sidecarPort) ? { sidecarPort } : {}),
    registry: e.registry,
  });
}

/** A registry's service name as meshgate names it: lower-cased (Eureka upper-cases every app), or undefined when it cannot be one. */
export function meshServiceName(raw: string): string | undefined {
  const name = raw.toLowerCase();
  return isServiceName(name) ? name : undefined;
}
