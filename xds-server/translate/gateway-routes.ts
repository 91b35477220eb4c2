// The gateway's route table, spelled from the resolved gateway: GET /v1/models first (answered
// by Envoy), then the model API, then the transcoded gRPC services' paths, then every gateway
// path in its resolved order (longer prefixes first) — for each, the service-router routes that
// fall under it, then the path itself to the service's chain. Who owns a path, its policy and
// its limits were decided in resolve/.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { GatewayPathRoute, ResolvedGateway } from '../resolve/resolved-mesh.js';
import type { TranslationCache } from './cache.js';
import { GATEWAY_ROUTES } from './gateway-listener.js';
import { gatewayRouteExtras, routeAuthz } from './http-filters.js';
import { loginUnavailableRoute, routeLogin } from './login.js';
import { envoyRoutes, VIRTUAL_HOST_RETRIES } from './http-route.js';
import { modelApiFilters, modelRoutes } from './model-routes.js';
import { modelsRoutes } from './models-route.js';
import { transcodingRoutes } from './transcoding-routes.js';

function pathRoutes(p: GatewayPathRoute): JsonObject[] {
  const base = p.separated ? { path_separated_prefix: p.prefix } : { prefix: p.prefix };
  const name = `${p.service}${p.prefix}`;
  // A login that cannot be had closes the path: one route, 503 with the reason.
  if (p.login?.kind === 'unavailable') return [loginUnavailableRoute(name, p.login, base, p.authPolicy !== undefined ? routeAuthz('none', name) : {})];
  const login = p.login?.kind === 'login' ? routeLogin(p.login.login, p.prefix) : undefined;
  const extras = gatewayRouteExtras(p, login && (() => login));
  return p.routes.flatMap((r) => envoyRoutes(r.index === undefined ? name : `${name}#${r.index}`, r.route, base, extras));
}

export function gatewayRoutes(g: ResolvedGateway, cache: TranslationCache): JsonObject {
  const routes: JsonObject[] = [];
  const models = g.models;
  if (models) {
    const perFilter = modelApiFilters(models.list, 'models');
    routes.push(...modelsRoutes(models.catalog, Object.keys(perFilter).length ? { typed_per_filter_config: perFilter } : {}, models.routing?.aliases));
    if (models.routing) routes.push(...modelRoutes({ ...models, routing: models.routing }));
  }
  routes.push(...transcodingRoutes(g.transcoded));
  // A path's routes are the same objects while its service and chain are: translated once.
  for (const p of g.paths) routes.push(...cache.of(p, 'routes', () => pathRoutes(p)));
  return { name: GATEWAY_ROUTES, virtual_hosts: [{ name: 'gateway', domains: ['*'], routes, retry_policy: VIRTUAL_HOST_RETRIES }] };
}
