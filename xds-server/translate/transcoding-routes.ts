// The gateway routes of transcoded gRPC services: one route per service, matching every path it
// answers (its gRPC paths and its annotations' REST paths: the descriptor's one regex), so that
// its descriptor set goes to Envoy once, in that route's transcoder settings. These routes come
// before every gateway path: they match exact paths only. A path two services both answer goes
// to the first by name, and the other claim is reported.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { MeshState } from '../model/mesh.js';
import { authPolicyOf } from '../resolve/auth-policy.js';
import type { Chain } from '../resolve/chain.js';
import type { ServicePolicy } from '../resolve/policy-types.js';
import { routeAuthz, routeBodyLimit, type AuthzOptions } from './http-filters.js';
import { envoyRoute } from './http-route.js';
import { routeRateLimits } from './rate-limits.js';
import { transcodedRouteFilters } from './transcoding-filters.js';

export function transcodingRoutes(
  state: MeshState,
  chains: ReadonlyMap<string, Chain>,
  policyOf: (service: string) => ServicePolicy,
  authz: AuthzOptions | undefined,
  ratelimit: boolean,
): { routes: JsonObject[]; notes: string[] } {
  const routes: JsonObject[] = [];
  const notes: string[] = [];
  const owners = new Map<string, string>();
  for (const descriptor of state.descriptors.values()) {
    const service = state.services.get(descriptor.service);
    const chain = chains.get(descriptor.service);
    const policy = policyOf(descriptor.service);
    if (!service || !chain || !policy.transcoding.enabled || policy.protocol !== 'grpc') continue;
    const taken = descriptor.grpcServices.filter((g) => owners.has(g));
    if (taken.length) {
      notes.push(`${taken.join(', ')} is served by ${owners.get(taken[0]!)} and ${descriptor.service}; ${owners.get(taken[0]!)} gets it`);
      continue;
    }
    for (const g of descriptor.grpcServices) owners.set(g, descriptor.service);
    // The service's own gateway path says who may call it and how often (its first, for all of its methods).
    const path = service.settings.gatewayPaths[0]!;
    const name = `${descriptor.service}/transcoded`;
    const route = chain.fallback;
    routes.push(
      envoyRoute(name, route, { safe_regex: { regex: descriptor.pathRegex } }, (routeName, action) => {
        if (ratelimit && path.rateLimits?.length) action['rate_limits'] = routeRateLimits(path.rateLimits);
        return {
          typed_per_filter_config: {
            ...(authz ? routeAuthz(authPolicyOf(path, authz.defaultPolicy), routeName) : {}),
            ...(route.policy.maxRequestBytes !== undefined ? routeBodyLimit(route.policy.maxRequestBytes) : {}),
            ...transcodedRouteFilters(descriptor, policy.transcoding, route.policy.maxRequestBytes),
          },
        };
      }),
    );
  }
  return { routes, notes };
}
