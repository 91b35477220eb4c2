// A service's instances → its ClusterLoadAssignment, one locality per zone, health from Consul.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { Instance, Service } from '../model/mesh.js';

function lbEndpoint(instance: Instance): JsonObject {
  return {
    endpoint: {
      address: { socket_address: { address: instance.address, port_value: instance.port } },
      hostname: instance.id,
    },
    health_status: instance.health,
    load_balancing_weight: instance.weight,
    metadata: { filter_metadata: { meshgate: { instance: instance.id, node: instance.node } } },
  };
}

export function loadAssignment(service: Service): JsonObject {
  const zones = new Map<string, Instance[]>();
  for (const instance of service.instances) {
    const list = zones.get(instance.zone);
    if (list) list.push(instance);
    else zones.set(instance.zone, [instance]);
  }
  const endpoints = [...zones.keys()].sort().map((zone) => ({
    ...(zone ? { locality: { zone } } : {}),
    lb_endpoints: zones.get(zone)!.map(lbEndpoint),
  }));
  return { cluster_name: service.name, endpoints };
}
