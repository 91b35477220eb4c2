// A virtual host for calling a service by name (a sidecar's outbound listener, a proxyless gRPC
// client): its service-router routes, then everything else to its chain's default.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { MeshState } from '../model/mesh.js';
import type { Chain } from './chain.js';
import { routeAction, routeMatch } from './http-route.js';

export function upstreamVirtualHost(state: MeshState, chain: Chain, domains: readonly string[]): JsonObject {
  const routes: JsonObject[] = chain.routes.map((r, i) => ({
    name: `${chain.service}#${i}`,
    match: routeMatch(r.match),
    route: routeAction(state, r.action, r.destination),
  }));
  routes.push({ name: chain.service, match: { prefix: '/' }, route: routeAction(state, chain.defaultAction, undefined) });
  return { name: chain.service, domains: [...domains], routes };
}
