// Proxyless gRPC clients (grpc-js with an xds:/// target): for every service, a listener named
// after it whose ApiListener holds an HTTP connection manager on RDS, a route table with the
// service's chain, and its clusters and endpoints. A client asks for the names it dials only.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { ResolvedProxyless, Target } from '../resolve/resolved-mesh.js';
import { TranslationCache } from './cache.js';
import { targetCluster } from './cluster.js';
import { loadAssignment } from './endpoints.js';
import { ROUTER_FILTER } from './http-listener.js';
import { ADS_SOURCE, type Translation } from './resource-set.js';
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
  const targets = new Map<string, Target>();
  for (const chain of p.chains) for (const t of chain.targets) targets.set(t.id, t);
  const sorted = [...targets.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    resources: {
      cluster: sorted.map((t) => ({ name: t.id, resource: cache.of(t, 'cluster', () => targetCluster(t)) })),
      endpoint: sorted.map((t) => ({ name: t.id, resource: cache.of(t, 'endpoints', () => loadAssignment(t)) })),
      listener: p.chains.map((c) => ({ name: c.service, resource: apiListener(c.service) })),
      route: p.chains.map((c) => ({ name: c.service, resource: cache.of(c, 'route', () => ({ name: c.service, virtual_hosts: [upstreamVirtualHost(c)] })) })),
    },
    notes: p.notes,
  };
}
