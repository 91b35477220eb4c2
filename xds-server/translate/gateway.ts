// The gateway role: one listener, one route table, and a cluster with its endpoints for every
// service in the mesh. Pure: the same state and options always give the same resources.
import type { MeshState } from '../model/mesh.js';
import { serviceCluster } from './cluster.js';
import { loadAssignment } from './endpoints.js';
import { GATEWAY_LISTENER, GATEWAY_ROUTES, gatewayListener, type ListenerAddress } from './gateway-listener.js';
import { gatewayRoutes } from './gateway-routes.js';
import type { Translation } from './resource-set.js';

export type GatewayOptions = ListenerAddress;

export function translateGateway(state: MeshState, options: GatewayOptions): Translation {
  const services = [...state.services.values()];
  const routes = gatewayRoutes(state);
  return {
    resources: {
      cluster: services.map((s) => ({ name: s.name, resource: serviceCluster(s) })),
      endpoint: services.map((s) => ({ name: s.name, resource: loadAssignment(s) })),
      listener: [{ name: GATEWAY_LISTENER, resource: gatewayListener(options) }],
      route: [{ name: GATEWAY_ROUTES, resource: routes.resource }],
    },
    notes: routes.notes,
  };
}
