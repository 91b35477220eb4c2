// A virtual host for calling a service by name (a sidecar's outbound listener, a proxyless gRPC
// client): its service-router routes, then everything else to its chain's fallback.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { Chain } from '../resolve/resolved-mesh.js';
import { envoyRoutes, VIRTUAL_HOST_RETRIES } from './http-route.js';

export function upstreamVirtualHost(chain: Chain): JsonObject {
  const routes: JsonObject[] = chain.routes.flatMap((r, i) => envoyRoutes(`${chain.service}#${i}`, r));
  routes.push(...envoyRoutes(chain.service, chain.fallback, { prefix: '/' }));
  return { name: chain.service, domains: [chain.service], routes, retry_policy: VIRTUAL_HOST_RETRIES };
}
