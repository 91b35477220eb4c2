// The gateway role: one listener, one route table, and a cluster with its endpoints for every
// service in the mesh. Pure: the same state and options always give the same resources.
import type { MeshState } from '../model/mesh.js';
import { chainTargets, targetId, type Chain, type Target } from '../resolve/chain.js';
import { identityHeadersAt } from '../resolve/identity.js';
import { modelCatalog, modelRouting, type RoutedModel } from '../resolve/models.js';
import { infrastructurePolicy } from '../resolve/service-policy.js';
import { targetCluster } from './cluster.js';
import { loadAssignment } from './endpoints.js';
import { GATEWAY_LISTENER, GATEWAY_ROUTES, gatewayListener, type ListenerAddress } from './gateway-listener.js';
import { gatewayRoutes } from './gateway-routes.js';
import { gatewayHttpFilters, type AuthzOptions, type LlmOptions } from './http-filters.js';
import { modelTarget, UNROUTED_CLUSTER, unroutedCluster, withRenamingStage } from './model-routes.js';
import { TranslationMemo } from './memo.js';
import { modelLimitsOf, type RatelimitOptions } from './rate-limits.js';
import type { Translation } from './resource-set.js';
import { transcodingRoutes } from './transcoding-routes.js';

export interface GatewayOptions extends ListenerAddress {
  /** Request headers only ext-authz may set; client-sent copies are always removed. */
  readonly identityHeaders: readonly string[];
  /** When set, every route is checked by ext-authz unless its policy is "none". */
  readonly authz?: AuthzOptions;
  /** When set, routes with rate-limit descriptors ask the rate-limit service. */
  readonly ratelimit?: RatelimitOptions;
  /** When set (and services declare models), the model API is routed by model through the LLM processor. */
  readonly llm?: LlmOptions;
  /** When set, the gateway's access log also goes to this gRPC access-log service (the console). */
  readonly accessLog?: { readonly service: string; readonly timeoutMs: number };
}

/** An infrastructure service's one target: all its instances, no subsets. */
function infraTarget(name: string): Target {
  return { id: targetId(name, undefined), service: name, subset: undefined, filter: undefined, onlyPassing: false, failover: [] };
}

export function translateGateway(state: MeshState, options: GatewayOptions, memo: TranslationMemo = new TranslationMemo()): Translation {
  // Infrastructure (ext-authz, ratelimit) is always present (Envoy refuses a filter whose gRPC
  // cluster does not exist; an empty cluster fails the way the filter is configured to), spoken
  // to over gRPC, and never routed.
  const infra = new Map<string, number>();
  for (const o of [options.authz, options.ratelimit, options.llm, options.accessLog]) if (o) infra.set(o.service, o.timeoutMs);

  const chains = new Map<string, Chain>();
  const targets = new Map<string, Target>();
  const notes: string[] = [];
  for (const service of state.services.values()) {
    if (infra.has(service.name) || service.settings.gatewayPaths.length === 0) continue;
    const chain = memo.chain(state, service.name);
    chains.set(service.name, chain);
    notes.push(...chain.notes);
    for (const t of chainTargets(chain)) targets.set(t.id, t);
  }
  for (const name of infra.keys()) targets.set(name, infraTarget(name));

  const internal = new Set(infra.keys());
  const catalog = modelCatalog(state, internal);
  const routing = options.llm && catalog ? modelRouting(state, catalog, (s) => memo.policy(state, s)) : undefined;
  const modelsByTarget = new Map<string, RoutedModel>();
  for (const m of routing?.models ?? []) {
    const t = modelTarget(m);
    targets.set(t.id, t);
    modelsByTarget.set(t.id, m);
  }
  if (routing) notes.push(...routing.notes);
  const sorted = [...targets.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const modelLimits = modelLimitsOf(options.llm, options.ratelimit);
  const transcoded = transcodingRoutes(state, chains, (s) => memo.policy(state, s), options.authz, options.ratelimit !== undefined);
  notes.push(...transcoded.notes);
  const routes = gatewayRoutes(
    state,
    options.authz,
    options.ratelimit !== undefined,
    internal,
    chains,
    catalog,
    routing && { routing, api: { maxRequestBytes: options.llm!.maxRequestBytes, limits: modelLimits } },
    transcoded.routes,
  );
  const filters = gatewayHttpFilters(identityHeadersAt(state, options.identityHeaders, options.authz?.service), options.authz, options.ratelimit, options.llm, modelLimits);
  return {
    resources: {
      cluster: [
        ...sorted.map((t) => {
          const timeoutMs = infra.get(t.service);
          if (timeoutMs !== undefined) return { name: t.id, resource: targetCluster(t, infrastructurePolicy(state, t.service, timeoutMs)) };
          const m = modelsByTarget.get(t.id);
          return { name: t.id, resource: m ? withRenamingStage(m, memo.cluster(state, t), options.llm!) : memo.cluster(state, t) };
        }),
        ...(routing ? [{ name: UNROUTED_CLUSTER, resource: unroutedCluster() }] : []),
      ],
      endpoint: sorted.map((t) => ({ name: t.id, resource: infra.has(t.service) ? loadAssignment(state, t) : memo.endpoints(state, t) })),
      listener: [{ name: GATEWAY_LISTENER, resource: gatewayListener(options, filters, options.accessLog?.service) }],
      route: [{ name: GATEWAY_ROUTES, resource: routes.resource }],
    },
    notes: [...new Set([...notes, ...routes.notes])],
  };
}
