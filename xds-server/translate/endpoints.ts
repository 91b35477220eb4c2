// A target's ClusterLoadAssignment: the endpoints it selects (one locality per zone), health
// from Consul, and — at priority 1, 2, … — the endpoints of its failover targets, which Envoy
// uses only when the ones before have no healthy instance.
import { HOST_SERVICE_METADATA_KEY } from '../../shared/llm-gateway.js';
import type { JsonObject } from '../../shared/proto/codec.js';
import type { Endpoint, FailoverTarget, Target } from '../resolve/resolved-mesh.js';

function lbEndpoint(target: FailoverTarget, e: Endpoint): JsonObject {
  return {
    endpoint: {
      address: { socket_address: { address: e.address, port_value: e.port } },
      hostname: e.id,
    },
    health_status: e.health,
    load_balancing_weight: e.weight,
    // The service too: a model's cluster holds several services' instances, and its route says which answered.
    metadata: { filter_metadata: { meshgate: { [HOST_SERVICE_METADATA_KEY]: target.service, instance: e.id, node: e.node, ...target.hostMetadata } } },
  };
}

function localities(target: FailoverTarget, priority: number): JsonObject[] {
  const zones = new Map<string, Endpoint[]>();
  for (const e of target.endpoints) {
    const list = zones.get(e.zone);
    if (list) list.push(e);
    else zones.set(e.zone, [e]);
  }
  // Every group names its locality and weight, even without a zone: gRPC clients refuse a group
  // without a locality and ignore one without a weight (Envoy reads locality weights only when
  // a cluster asks for locality-weighted balancing). The weight is the group's share of instances.
  return [...zones.keys()].sort().map((zone) => ({
    locality: zone ? { zone } : {},
    load_balancing_weight: zones.get(zone)!.reduce((sum, e) => sum + e.weight, 0),
    lb_endpoints: zones.get(zone)!.map((e) => lbEndpoint(target, e)),
    ...(priority ? { priority } : {}),
  }));
}

export function loadAssignment(target: Target): JsonObject {
  return { cluster_name: target.id, endpoints: [...localities(target, 0), ...target.failover.flatMap((f, i) => localities(f, i + 1))] };
}
