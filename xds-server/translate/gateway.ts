// The gateway role: one listener, one route table, and a cluster with its endpoints for every
// service in the mesh. Pure: the same state and options always give the same resources.
import { IDENTITY_HEADERS_META } from '../../shared/identity-headers.js';
import type { MeshState, Service } from '../model/mesh.js';
import { serviceCluster } from './cluster.js';
import { loadAssignment } from './endpoints.js';
import { GATEWAY_LISTENER, GATEWAY_ROUTES, gatewayListener, type ListenerAddress } from './gateway-listener.js';
import { gatewayRoutes } from './gateway-routes.js';
import { gatewayHttpFilters, type AuthzOptions } from './http-filters.js';
import type { RatelimitOptions } from './rate-limits.js';
import type { Translation } from './resource-set.js';

export interface GatewayOptions extends ListenerAddress {
  /** Request headers only ext-authz may set; client-sent copies are always removed. */
  readonly identityHeaders: readonly string[];
  /** When set, every route is checked by ext-authz unless its policy is "none". */
  readonly authz?: AuthzOptions;
  /** When set, routes with rate-limit descriptors ask the rate-limit service. */
  readonly ratelimit?: RatelimitOptions;
}

/**
 * An infrastructure service (ext-authz, ratelimit) as the gateway needs it: always present
 * (Envoy refuses a filter whose gRPC cluster does not exist; an empty cluster fails the way
 * the filter is configured to), spoken to over HTTP/2, and never routed.
 */
function infraService(state: MeshState, name: string, timeoutMs: number): Service {
  const known = state.services.get(name);
  const base = known?.settings ?? { requestTimeoutMs: timeoutMs, connectTimeoutMs: 1_000 };
  return { name, settings: { ...base, protocol: 'grpc', gatewayPaths: [] }, instances: known?.instances ?? [] };
}

/** Identity headers to strip: ours, and any the ext-authz instances announce. */
function headersToStrip(state: MeshState, options: GatewayOptions): string[] {
  const names = new Set(options.identityHeaders);
  if (options.authz) {
    for (const i of state.services.get(options.authz.service)?.instances ?? []) {
      for (const h of (i.meta[IDENTITY_HEADERS_META] ?? '').split(',')) if (h.trim()) names.add(h.trim().toLowerCase());
    }
  }
  return [...names].sort();
}

export function translateGateway(state: MeshState, options: GatewayOptions): Translation {
  const services = new Map(state.services);
  const internal = new Set<string>();
  for (const infra of [options.authz, options.ratelimit]) {
    if (!infra) continue;
    services.set(infra.service, infraService(state, infra.service, infra.timeoutMs));
    internal.add(infra.service);
  }
  const sorted = [...services.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const routes = gatewayRoutes(state, options.authz, options.ratelimit !== undefined, internal);
  const filters = gatewayHttpFilters(headersToStrip(state, options), options.authz, options.ratelimit);
  return {
    resources: {
      cluster: sorted.map((s) => ({ name: s.name, resource: serviceCluster(s) })),
      endpoint: sorted.map((s) => ({ name: s.name, resource: loadAssignment(s) })),
      listener: [{ name: GATEWAY_LISTENER, resource: gatewayListener(options, filters) }],
      route: [{ name: GATEWAY_ROUTES, resource: routes.resource }],
    },
    notes: routes.notes,
  };
}
