// Every service's gateway paths → one route table. Longer prefixes win; a prefix claimed by
// two services goes to the first by name, and the other claim is reported.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { GatewayPath, MeshState, Service } from '../model/mesh.js';
import { GATEWAY_ROUTES } from './gateway-listener.js';
import { routeAuthz, type AuthzOptions } from './http-filters.js';
import { routeRateLimits } from './rate-limits.js';
import { durationOf } from './resource-set.js';

interface RouteEntry {
  readonly path: GatewayPath;
  readonly service: Service;
}

function compareEntries(a: RouteEntry, b: RouteEntry): number {
  if (a.path.prefix.length !== b.path.prefix.length) return b.path.prefix.length - a.path.prefix.length;
  if (a.path.prefix !== b.path.prefix) return a.path.prefix < b.path.prefix ? -1 : 1;
  // "/v1" (separated) and "/v1/" differ in length, so equal prefixes share their kind.
  return a.service.name < b.service.name ? -1 : a.service.name > b.service.name ? 1 : 0;
}

/** Retry what never reached the service (safe for every method), on another instance. */
const SAFE_RETRIES: JsonObject = {
  retry_on: 'connect-failure,refused-stream',
  num_retries: 2,
  retry_host_predicate: [
    {
      name: 'envoy.retry_host_predicates.previous_hosts',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' },
    },
  ],
  host_selection_retry_max_attempts: 3,
};

function route(entry: RouteEntry, authz: AuthzOptions | undefined, ratelimit: boolean): JsonObject {
  const match = entry.path.separated ? { path_separated_prefix: entry.path.prefix } : { prefix: entry.path.prefix };
  const name = `${entry.service.name}${entry.path.prefix}`;
  return {
    name,
    match,
    route: {
      cluster: entry.service.name,
      timeout: durationOf(entry.service.settings.requestTimeoutMs),
      retry_policy: SAFE_RETRIES,
      ...(ratelimit && entry.path.rateLimits?.length ? { rate_limits: routeRateLimits(entry.path.rateLimits) } : {}),
    },
    ...(authz ? { typed_per_filter_config: routeAuthz(entry.path.authPolicy ?? authz.defaultPolicy, name) } : {}),
  };
}

/** `internal` names services never routed by the gateway, whatever their meta says. */
export function gatewayRoutes(
  state: MeshState,
  authz: AuthzOptions | undefined,
  ratelimit: boolean,
  internal: ReadonlySet<string>,
): { resource: JsonObject; notes: string[] } {
  const entries: RouteEntry[] = [];
  for (const service of state.services.values()) {
    if (internal.has(service.name)) continue;
    for (const path of service.settings.gatewayPaths) entries.push({ path, service });
  }
  entries.sort(compareEntries);
  const notes: string[] = [];
  const claimed = new Map<string, string>();
  const routes: JsonObject[] = [];
  for (const entry of entries) {
    const key = `${entry.path.separated ? 'sep' : 'prefix'}:${entry.path.prefix}`;
    const owner = claimed.get(key);
    if (owner) {
      notes.push(`path ${entry.path.prefix} is claimed by ${owner} and ${entry.service.name}; ${owner} gets it`);
      continue;
    }
    claimed.set(key, entry.service.name);
    routes.push(route(entry, authz, ratelimit));
  }
  return {
    resource: {
      name: GATEWAY_ROUTES,
      virtual_hosts: [{ name: 'gateway', domains: ['*'], routes }],
    },
    notes,
  };
}
