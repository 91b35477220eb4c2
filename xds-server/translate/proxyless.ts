// Proxyless gRPC clients (grpc-js with an xds:/// target): for every service, a listener named
// after it whose ApiListener holds an HTTP connection manager on RDS, a route table with the
// service's chain, and its clusters and endpoints. A client asks for the names it dials only.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { ResolvedProxyless } from '../resolve/resolved-mesh.js';
import { TranslationCache } from './cache.js';
import { ROUTER_FILTER } from './http-listener.js';
import { ADS_SOURCE, type Translation } from './resource-set.js';
import { clusterResource, endpointResource, targetsOf } from './targets.js';
import { upstreamVirtualHost } from './upstream-routes.js';

function apiListener(service: string): JsonObject {
  return {
    name: service,
    api_listener: {
      api_listener: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
        stat_prefix: service,
        rds: { route_config_name: service, config_source: ADS_SOURCE },
        http_filters: [ROUTER_FILTER],
      },
    },
  };
}

export function translateProxyless(p: ResolvedProxyless, cache: TranslationCache = new TranslationCache()): Translation {
  const targets = targetsOf(p.chains);
  return {
    resources: {
      cluster: targets.map((t) => clusterResource(t, cache)),
      endpoint: targets.map((t) => endpointResource(t, cache)),
      secret: [],
      listener: p.chains.map((c) => ({ name: c.service, resource: apiListener(c.service) })),
      route: p.chains.map((c) => ({ name: c.service, resource: cache.of(c, 'route', () => ({ name: c.service, virtual_hosts: [upstreamVirtualHost(c)] })) })),
    },
    notes: p.notes,
  };
}
