// Every service's gateway paths → one route table. For each path, first the service-router
// routes that fall under it (their paths read as gateway paths; a route without a path gets the
// gateway path), then the path itself to the service's chain (splitter, resolver). Longer
// prefixes win; a prefix claimed by two services goes to the first by name, and the other claim
// is reported. When services declare models, GET /v1/models comes first, answered by Envoy; the
// model API next, then the transcoded gRPC services' paths.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { GatewayPath, MeshState, Service } from '../model/mesh.js';
import type { HttpMatch } from '../model/config-entries/schema.js';
import { authPolicyOf } from '../resolve/auth-policy.js';
import type { Chain, ChainRoute } from '../resolve/chain.js';
import type { CatalogModel, ModelRouting } from '../resolve/models.js';
import { GATEWAY_ROUTES } from './gateway-listener.js';
import { routeAuthz, routeBodyLimit, type AuthzOptions } from './http-filters.js';
import { envoyRoutes, VIRTUAL_HOST_RETRIES } from './http-route.js';
import { modelRoutes, type ModelApiOptions, type ModelRouteExtras } from './model-routes.js';
import { MODELS_PATH, modelsRoute } from './models-route.js';
import { routeRateLimits } from './rate-limits.js';

interface RouteEntry {
  readonly path: GatewayPath;
  readonly service: Service;
}

function compareEntries(a: RouteEntry, b: RouteEntry): number {
  if (a.path.prefix.length !== b.path.prefix.length) return b.path.prefix.length - a.path.prefix.length;
  if (a.path.prefix !== b.path.prefix) return a.path.prefix < b.path.prefix ? -1 : 1;
  return a.service.name < b.service.name ? -1 : a.service.name > b.service.name ? 1 : 0;
}

/** Whether a request path falls under a gateway path. */
function covers(path: GatewayPath, requestPath: string): boolean {
  if (!path.separated) return requestPath.startsWith(path.prefix);
  return requestPath === path.prefix || requestPath.startsWith(`${path.prefix}/`);
}

/** Whether a router route belongs under a gateway path (a regex path cannot be told: it does not). */
function under(m: HttpMatch | undefined, path: GatewayPath): boolean {
  const p = m?.PathExact ?? m?.PathPrefix;
  if (m?.PathRegex !== undefined) return false;
  return p === undefined || covers(path, p);
}

function routesFor(entry: RouteEntry, chain: Chain, authz: AuthzOptions | undefined, ratelimit: boolean): JsonObject[] {
  const base = entry.path.separated ? { path_separated_prefix: entry.path.prefix } : { prefix: entry.path.prefix };
  const name = `${entry.service.name}${entry.path.prefix}`;
  const extras = (routeName: string, action: JsonObject, route: ChainRoute): JsonObject => {
    if (ratelimit && entry.path.rateLimits?.length) action['rate_limits'] = routeRateLimits(entry.path.rateLimits);
    const perFilter: JsonObject = {
      ...(authz ? routeAuthz(authPolicyOf(entry.path, authz.defaultPolicy), routeName) : {}),
      ...(route.policy.maxRequestBytes !== undefined ? routeBodyLimit(route.policy.maxRequestBytes) : {}),
    };
    return Object.keys(perFilter).length ? { typed_per_filter_config: perFilter } : {};
  };
  const out: JsonObject[] = [];
  chain.routes.forEach((r, i) => {
    if (under(r.match, entry.path)) out.push(...envoyRoutes(`${name}#${i}`, r, base, extras));
  });
  out.push(...envoyRoutes(name, chain.fallback, base, extras));
  return out;
}

/** `internal` names services never routed by the gateway, whatever their meta says. */
export function gatewayRoutes(
  state: MeshState,
  authz: AuthzOptions | undefined,
  ratelimit: boolean,
  internal: ReadonlySet<string>,
  chains: ReadonlyMap<string, Chain>,
  /** The model catalog, when any service declares models (then GET /v1/models is answered). */
  catalog?: readonly CatalogModel[],
  /** The model routing, when the LLM processor is set too (then the model API is routed by model). */
  llm?: { readonly routing: ModelRouting; readonly api: ModelApiOptions },
  /** The transcoded services' routes (transcoding-routes.ts): exact paths, before every gateway path. */
  transcoded: readonly JsonObject[] = [],
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
    const chain = chains.get(entry.service.name);
    if (chain) routes.push(...routesFor(entry, chain, authz, ratelimit));
  }
  routes.unshift(...transcoded);
  // The model API, first, when any service says what models it serves: whoever may call the
  // path a model API path lies under (the same policy, the same request-count limits) may call
  // it through the model routes, or list the models.
  const owner = (requestPath: string): RouteEntry | undefined => entries.find((e) => covers(e.path, requestPath));
  const authzFor = (requestPath: string, routeName: string): JsonObject => {
    if (!authz) return {};
    const o = owner(requestPath);
    return routeAuthz(o ? authPolicyOf(o.path, authz.defaultPolicy) : authz.defaultPolicy, routeName);
  };
  if (llm) {
    const extras: ModelRouteExtras = (routeName, requestPath) => {
      const limits = ratelimit ? owner(requestPath)?.path.rateLimits : undefined;
      return { perFilter: authzFor(requestPath, routeName), ...(limits?.length ? { rateLimits: routeRateLimits(limits) } : {}) };
    };
    routes.unshift(...modelRoutes(llm.routing, llm.api, extras));
  }
  if (catalog) {
    const perFilter = authzFor(MODELS_PATH, 'models');
    routes.unshift(modelsRoute(catalog, Object.keys(perFilter).length ? { typed_per_filter_config: perFilter } : {}, llm?.routing.aliases));
  }
  return {
    resource: { name: GATEWAY_ROUTES, virtual_hosts: [{ name: 'gateway', domains: ['*'], routes, retry_policy: VIRTUAL_HOST_RETRIES }] },
    notes,
  };
}
