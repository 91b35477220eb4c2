// The gateway role, spelled from the resolved gateway: one listener (its address is the role's),
// one route table, and a cluster with its endpoints for every target the gateway reaches.
// Pure: the same resolved gateway and address always give the same resources.
import type { ResolvedGateway, RoutedModel, Target } from '../resolve/resolved-mesh.js';
import { TranslationCache } from './cache.js';
import { GATEWAY_LISTENER, GATEWAY_ROUTES, gatewayListener, type ListenerAddress } from './gateway-listener.js';
import { gatewayRoutes } from './gateway-routes.js';
import { loginClusterResource, secretResource } from './login.js';
import { gatewayHttpFilters } from './http-filters.js';
import { modelLimitsOf } from '../resolve/gateway-settings.js';
import { PICKED_ENDPOINT, UNROUTED_CLUSTER, unroutedCluster, withRenamingStage } from './model-routes.js';
import type { NamedResource, Translation } from './resource-set.js';
import { targetCluster } from './cluster.js';
import { clusterResource, endpointResource } from './targets.js';

export function translateGateway(g: ResolvedGateway, at: ListenerAddress, cache: TranslationCache = new TranslationCache()): Translation {
  const s = g.settings;
  const modelsByTarget = new Map<Target, RoutedModel>();
  for (const m of g.models?.routing?.models ?? []) modelsByTarget.set(m.target, m);
  const cluster = (t: Target): NamedResource => {
    const m = modelsByTarget.get(t);
    const llm = s.llm;
    if (!m || !llm) return clusterResource(t, cache);
    // A picked model's cluster takes the picker's choice; the processor's upstream stage is the
    // settings' too: both are part of what the result is cached by.
    return {
      name: t.id,
      resource: cache.of(t, `cluster+renaming+picker\u0000${llm.service}\u0000${llm.timeoutMs}\u0000${m.endpointPicker}`, () =>
        withRenamingStage(m, m.endpointPicker ? targetCluster(t, PICKED_ENDPOINT) : clusterResource(t, cache).resource, llm),
      ),
    };
  };
  // The filter list follows the settings alone, never the catalog: a listener whose filters change
  // leaves the connections it already has on the old list until they drain — a budget filter that
  // arrived with the first model would not count the calls of connections opened before it.
  const filters = gatewayHttpFilters(g.identityHeaders, s.authz, s.ratelimit, s.llm, s.llm ? modelLimitsOf(s) : undefined);
  return {
    resources: {
      cluster: [
        ...g.clusters.map(cluster),
        ...(g.models?.routing ? [{ name: UNROUTED_CLUSTER, resource: unroutedCluster() }] : []),
        ...g.loginClusters.map((c) => loginClusterResource(c, cache)),
      ],
      endpoint: g.clusters.map((t) => endpointResource(t, cache)),
      secret: g.secrets.map((s) => secretResource(s, cache)),
      listener: [{ name: GATEWAY_LISTENER, resource: gatewayListener(at, filters, s.accessLog?.service, s.llm?.service) }],
      route: [{ name: GATEWAY_ROUTES, resource: gatewayRoutes(g, cache) }],
    },
    notes: g.notes,
  };
}
