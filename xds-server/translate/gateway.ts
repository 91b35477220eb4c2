// The gateway role, spelled from the resolved gateway: one listener (its address is the role's),
// one route table, and a cluster with its endpoints for every target the gateway reaches.
// Pure: the same resolved gateway and address always give the same resources.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { ResolvedGateway, RoutedModel, Target } from '../resolve/resolved-mesh.js';
import { TranslationCache } from './cache.js';
import { targetCluster } from './cluster.js';
import { loadAssignment } from './endpoints.js';
import { GATEWAY_LISTENER, GATEWAY_ROUTES, gatewayListener, type ListenerAddress } from './gateway-listener.js';
import { gatewayRoutes } from './gateway-routes.js';
import { gatewayHttpFilters } from './http-filters.js';
import { UNROUTED_CLUSTER, unroutedCluster, withRenamingStage } from './model-routes.js';
import type { Translation } from './resource-set.js';

export function translateGateway(g: ResolvedGateway, at: ListenerAddress, cache: TranslationCache = new TranslationCache()): Translation {
  const s = g.settings;
  const modelsByTarget = new Map<Target, RoutedModel>();
  for (const m of g.models?.routing?.models ?? []) modelsByTarget.set(m.target, m);
  const cluster = (t: Target): JsonObject => {
    const m = modelsByTarget.get(t);
    const plain = cache.of(t, 'cluster', () => targetCluster(t));
    // The processor's upstream stage is the settings' too: part of what the result is cached by.
    return m && s.llm ? cache.of(t, `cluster+renaming\u0000${s.llm.service}\u0000${s.llm.timeoutMs}`, () => withRenamingStage(m, plain, s.llm!)) : plain;
  };
  const filters = gatewayHttpFilters(g.identityHeaders, s.authz, s.ratelimit, s.llm, g.models?.limits);
  return {
    resources: {
      cluster: [
        ...g.clusters.map((t) => ({ name: t.id, resource: cluster(t) })),
        ...(g.models?.routing ? [{ name: UNROUTED_CLUSTER, resource: unroutedCluster() }] : []),
      ],
      endpoint: g.clusters.map((t) => ({ name: t.id, resource: cache.of(t, 'endpoints', () => loadAssignment(t)) })),
      listener: [{ name: GATEWAY_LISTENER, resource: gatewayListener(at, filters, s.accessLog?.service) }],
      route: [{ name: GATEWAY_ROUTES, resource: gatewayRoutes(g, cache) }],
    },
    notes: g.notes,
  };
}
