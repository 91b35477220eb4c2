// Proxyless gRPC clients (grpc-js with an xds:/// target): for every service, a listener named
// after it whose ApiListener holds an HTTP connection manager on RDS, a route table with the
// service's chain, and its clusters and endpoints. A client asks for the names it dials only.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { MeshState } from '../model/mesh.js';
import { chainTargets, type Target } from '../resolve/chain.js';
import { ROUTER_FILTER } from './http-listener.js';
import { TranslationMemo } from './memo.js';
import { ADS_SOURCE, type Translation } from './resource-set.js';

export function translateProxyless(state: MeshState, internal: ReadonlySet<string> = new Set(), memo: TranslationMemo = new TranslationMemo()): Translation {
  const notes: string[] = [];
  const targets = new Map<string, Target>();
  const listeners: Array<{ name: string; resource: JsonObject }> = [];
  const routes: Array<{ name: string; resource: JsonObject }> = [];
  for (const service of state.services.keys()) {
    if (internal.has(service)) continue;
    const chain = memo.chain(state, service);
    notes.push(...chain.notes);
    for (const t of chainTargets(chain)) targets.set(t.id, t);
    listeners.push({
      name: service,
      resource: {
        name: service,
        api_listener: {
          api_listener: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            stat_prefix: service,
            rds: { route_config_name: service, config_source: ADS_SOURCE },
            http_filters: [ROUTER_FILTER],
          },
        },
      },
    });
    routes.push({ name: service, resource: { name: service, virtual_hosts: [memo.virtualHost(state, service)] } });
  }
  const sorted = [...targets.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    resources: {
      cluster: sorted.map((t) => ({ name: t.id, resource: memo.cluster(state, t) })),
      endpoint: sorted.map((t) => ({ name: t.id, resource: memo.endpoints(state, t) })),
      listener: listeners,
      route: routes,
    },
    notes: [...new Set(notes)],
  };
}
