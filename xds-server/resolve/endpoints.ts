// The endpoint view: a service's instances as callers reach them — the port dialled decided
// (its sidecar's when it has one, else its own), health as Consul reports it — and the ones a
// target sends to (its subset's; only passing ones when the subset asks).
import { matchesFilter, type SubsetFilter } from '../model/config-entries/subset-filter.js';
import { isHealthy, type Instance } from '../model/mesh.js';
import type { MeshReader } from './mesh-reader.js';
import { decide } from './precedence.js';

/** An instance as callers reach it: `port` is the port they dial (decided below). */
export type Endpoint = Omit<Instance, 'sidecarPort'>;

/** The port callers dial for an instance: its sidecar's when it has one (traffic enters the service through its sidecar), else the app's own. */
export function dialPort(instance: Instance): number {
  return decide('dialPort', { meta: instance.sidecarPort, default: instance.port }).value;
}

function endpointOf(i: Instance): Endpoint {
  const port = dialPort(i);
  // An instance without a sidecar is its own endpoint (no copy per instance).
  if (i.sidecarPort === undefined && port === i.port) return i;
  return { id: i.id, node: i.node, address: i.address, port, health: i.health, zone: i.zone, weight: i.weight, tags: i.tags, meta: i.meta, registry: i.registry };
}

/** Every instance of a service as an endpoint, in instance-id order (none for a service not in the catalog). */
export function serviceEndpoints(m: MeshReader, service: string): readonly Endpoint[] {
  return m.memo('endpoints', service, () => Object.freeze((m.service(service)?.instances ?? []).map(endpointOf)));
}

/** The endpoints a target sends to: those its subset filter selects, only passing ones when it says so. */
export function selectEndpoints(all: readonly Endpoint[], filter: SubsetFilter | undefined, onlyPassing: boolean): readonly Endpoint[] {
  if (!filter && !onlyPassing) return all;
  return Object.freeze(all.filter((e) => (!filter || matchesFilter(e, filter)) && (!onlyPassing || isHealthy(e))));
}
