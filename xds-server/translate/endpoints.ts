// A target's ClusterLoadAssignment: the instances its subset selects (one locality per zone),
// health from Consul, and — at priority 1, 2, … — the instances of its failover targets, which
// Envoy uses only when the ones before have no healthy instance.
import type { JsonObject } from '../../shared/proto/codec.js';
import { matchesFilter } from '../model/config-entries/subset-filter.js';
import type { Instance, MeshState } from '../model/mesh.js';
import type { Target } from '../resolve/chain.js';
import { dialPort } from '../resolve/dial-port.js';

function lbEndpoint(target: Target, instance: Instance): JsonObject {
  const service = target.service;
  return {
    endpoint: {
      address: { socket_address: { address: instance.address, port_value: dialPort(instance) } },
      hostname: instance.id,
    },
    health_status: instance.health,
    load_balancing_weight: instance.weight,
    // The service too: a model's cluster holds several services' instances, and its route says which answered.
    metadata: { filter_metadata: { meshgate: { service, instance: instance.id, node: instance.node, ...target.hostMetadata } } },
  };
}

export function selectedInstances(state: MeshState, target: Target): Instance[] {
  const all = state.services.get(target.service)?.instances ?? [];
  return all.filter((i) => (!target.filter || matchesFilter(i, target.filter)) && (!target.onlyPassing || i.health === 'HEALTHY'));
}

function localities(target: Target, instances: readonly Instance[], priority: number): JsonObject[] {
  const zones = new Map<string, Instance[]>();
  for (const instance of instances) {
    const list = zones.get(instance.zone);
    if (list) list.push(instance);
    else zones.set(instance.zone, [instance]);
  }
  // Every group names its locality and weight, even without a zone: gRPC clients refuse a group
  // without a locality and ignore one without a weight (Envoy reads locality weights only when
  // a cluster asks for locality-weighted balancing). The weight is the group's share of instances.
  return [...zones.keys()].sort().map((zone) => ({
    locality: zone ? { zone } : {},
    load_balancing_weight: zones.get(zone)!.reduce((sum, i) => sum + i.weight, 0),
    lb_endpoints: zones.get(zone)!.map((i) => lbEndpoint(target, i)),
    ...(priority ? { priority } : {}),
  }));
}

export function loadAssignment(state: MeshState, target: Target): JsonObject {
  const endpoints = [
    ...localities(target, selectedInstances(state, target), 0),
    ...target.failover.flatMap((f, i) => localities(f, selectedInstances(state, f), i + 1)),
  ];
  return { cluster_name: target.id, endpoints };
}
