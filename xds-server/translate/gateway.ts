// The gateway role, spelled from the resolved gateway: one listener (its address is the role's),
// one route table, and a cluster with its endpoints for every target the gateway reaches.
// Pure: the same resolved gateway and address always give the same resources.
import type { ResolvedGateway, RoutedModel, Target } from '../resolve/resolved-mesh.js';
import { TranslationCache } from './cache.js';
import { GATEWAY_LISTENER, GATEWAY_ROUTES, gatewayListener, type ListenerAddress } from './gateway-listener.js';
import { gatewayRoutes } from './gateway-routes.js';
import { gatewayHttpFilters } from './http-filters.js';
import { UNROUTED_CLUSTER, unroutedCluster, withEndpointPicker, withRenamingStage } from './model-routes.js';
import type { NamedResource, Translation } from './resource-set.js';
import { clusterResource, endpointResource } from './targets.js';

export function translateGateway(g: ResolvedGateway, at: ListenerAddress, cache: TranslationCache = new TranslationCache()): Translation {
  const s = g.settings;
  const modelsByTarget = new Map<Target, RoutedModel>();
  for (const m of g.models?.routing?.models ?? []) modelsByTarget.set(m.target, m);
  const cluster = (t: Target): NamedResource => {
    const m = modelsByTarget.get(t);
    const plain = clusterResource(t, cache);
    if (!m || !s.llm) return plain;
    // The processor's upstream stage is the settings' too: part of what the result is cached by.
    return {
      name: t.id,
      resource: cache.of(t, `cluster+renaming+picker\u0000${s.llm.service}\u0000${s.llm.timeoutMs}\u0000${m.endpointPicker}`, () => withEndpointPicker(m, withRenamingStage(m, plain.resource, s.llm!))),
    };
  };
  const filters = gatewayHttpFilters(g.identityHeaders, s.authz, s.ratelimit, s.llm, g.models?.limits);
  return {
    resources: {
      cluster: [
        ...g.clusters.map(cluster),
        ...(g.models?.routing ? [{ name: UNROUTED_CLUSTER, resource: unroutedCluster() }] : []),
      ],
      endpoint: g.clusters.map((t) => endpointResource(t, cache)),
      listener: [{ name: GATEWAY_LISTENER, resource: gatewayListener(at, filters, s.accessLog?.service) }],
      route: [{ name: GATEWAY_ROUTES, resource: gatewayRoutes(g, cache) }],
    },
    notes: g.notes,
  };
}
