// The gateway's model API, when services declare models and the LLM processor is set:
//   - the entry routes, POST /v1/chat/completions, /v1/completions, /v1/embeddings: the body
//     limit and the processor on, with the model table as its streams' metadata. The processor
//     files the model in dynamic metadata and clears the route; a request it did not route goes
//     to a cluster without endpoints, 503 (never anywhere by guess);
//   - one route per model, matching that metadata (which no client can set): to the model's
//     cluster, whose endpoints are its services in failover order (priority 0, 1, …), retried
//     on 429, 5xx, a reset or a failed connection at the next priority — before any answer has
//     started, as Envoy retries only then — with the service that answered in
//     x-meshgate-service, and the token budgets it charges;
//   - a model whose calls need nothing of the processor: direct routes before the entry routes
//     (direct-calls.ts), where Envoy routes its plain calls by the body's model itself;
//   - every model's door, after those: a call whose body names the model reaches the processor
//     through the model's own copy of the processor's cluster, bounded at what the model's
//     cluster holds, so that past it Envoy refuses the call before the processor reads it;
//   - a model some service knows by another name, or whose services speak different dialects:
//     that name and each service's dialect on its endpoints, and the processor's upstream stage
//     on the model's cluster, which gives each attempt its body.
import { CACHE_HEADER, CACHE_METADATA_KEY, DIRECT_KEYS, DIRECT_METADATA_NAMESPACE, ENDPOINT_METADATA_KEY, HOST_SERVICE_METADATA_KEY, LLM_METADATA_NAMESPACE, MODEL_METADATA_KEY, SERVICE_HEADER, isDirectPath, type ModelTableWire } from '../../shared/llm-gateway.js';
import type { JsonObject } from '../../shared/proto/codec.js';
import type { ModelApiPath, ModelLimits, ModelRouting, ResolvedModelApi, RoutedModel, Target } from '../resolve/resolved-mesh.js';
import { HTTP_PROTOCOL_OPTIONS, type OverrideHostSource } from './cluster.js';
import { directRouteFilters, directRoutes } from './direct-calls.js';
import { durationOf } from './duration.js';
import { routeAuthz, routeBodyLimit, routeExtProc, ROUTE_READS_MODEL, UPSTREAM_CODEC, upstreamExtProc, type UpstreamStageOptions } from './http-filters.js';
import { PREVIOUS_HOSTS } from './http-route.js';
import { routeModelLimits, routeRateLimits, TOKEN_BUDGET_FILTER } from './rate-limits.js';

/**
 * A model cluster where some service knows the model by another name, or whose services speak
 * different dialects: the processor's upstream stage among its upstream filters (then the codec,
 * which ends every upstream chain), so each attempt — the first and every retry on the next
 * service — gets the body with the name, in the dialect, of the service Envoy picked. Other model
 * clusters are left as they are (no extra round trip).
 */
export function withRenamingStage(m: RoutedModel, cluster: JsonObject, processor: UpstreamStageOptions): JsonObject {
  if (!Object.keys(m.renamed).length && m.dialect !== undefined) return cluster;
  const options = (cluster['typed_extension_protocol_options'] as JsonObject | undefined) ?? {};
  const http = (options[HTTP_PROTOCOL_OPTIONS] as JsonObject | undefined) ?? {
    '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`,
    explicit_http_config: { http_protocol_options: {} },
  };
  return {
    ...cluster,
    typed_extension_protocol_options: { ...options, [HTTP_PROTOCOL_OPTIONS]: { ...http, http_filters: [upstreamExtProc(processor), UPSTREAM_CODEC] } },
  };
}

/** Where the processor's endpoint picker names a picked model's instance for a call (its cluster's override-host policy reads it). */
export const PICKED_ENDPOINT: OverrideHostSource = { namespace: LLM_METADATA_NAMESPACE, key: ENDPOINT_METADATA_KEY };

/**
 * The model table the processor gets on every stream: written once per routing. `only`: the
 * table of one model's door (a call through it names that model), its size the model's own
 * rather than the catalog's.
 */
export function modelTableText(routing: ModelRouting, limits: ModelLimits | undefined, only?: RoutedModel): string {
  const models = only ? [only] : routing.models;
  const logged = only ? routing.logged.filter((s) => only.services.includes(s)) : routing.logged;
  const picked = models.filter((m) => m.endpointPicker).map((m) => m.id);
  const prioritized = models.filter((m) => m.serverPriority).map((m) => m.id);
  const priced = models.filter((m) => m.price);
  const dialects = models.filter((m) => m.dialect !== undefined && m.dialect !== 'openai');
  const mixed = models.filter((m) => m.dialect === undefined);
  const wire: ModelTableWire = {
    models: models.map((m) => m.id),
    aliases: only ? {} : Object.fromEntries(routing.aliases.map((a) => [a.name, a.targets])),
    ...(logged.length ? { logged } : {}),
    ...(picked.length ? { picked } : {}),
    ...(prioritized.length ? { prioritized } : {}),
    ...(priced.length ? { prices: Object.fromEntries(priced.map((m) => [m.id, m.price!])) } : {}),
    ...(limits?.tokenBudgets.length || limits?.costBudgets.length ? { budgets: { defaultMaxTokens: limits.budgetDefaultMaxTokens } } : {}),
    ...(dialects.length ? { dialects: Object.fromEntries(dialects.map((m) => [m.id, m.dialect!])) } : {}),
    ...(mixed.length ? { mixed: Object.fromEntries(mixed.map((m) => [m.id, m.dialects])) } : {}),
  };
  return JSON.stringify(wire);
}

function retryAcrossServices(m: RoutedModel): JsonObject {
  return {
    retry_on: 'connect-failure,refused-stream,reset,5xx,retriable-status-codes',
    retriable_status_codes: [429],
    num_retries: Math.max(1, m.services.length - 1),
    // Each retry goes to the next service (priority), never back to a host already tried.
    retry_priority: {
      name: 'envoy.retry_priorities.previous_priorities',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig', update_frequency: 1 },
    },
    retry_host_predicate: PREVIOUS_HOSTS,
    host_selection_retry_max_attempts: 3,
  };
}

/** The budget filter on for the call (it is created with the entry route); the model route it gets to says what to charge. */
const BUDGETS_ON: JsonObject = {
  [TOKEN_BUDGET_FILTER]: {
    '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig',
    disabled: false,
    config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute' },
  },
};

/** A model route's answer says which service answered (its instance's endpoint metadata). */
const ANSWERED_BY: JsonObject = { header: { key: SERVICE_HEADER, value: `%UPSTREAM_METADATA(meshgate:${HOST_SERVICE_METADATA_KEY})%` }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' };

/** The cluster a request the processor did not route goes to: no endpoints, so 503. */
export const UNROUTED_CLUSTER = 'meshgate~unrouted';

export function unroutedCluster(): JsonObject {
  return { name: UNROUTED_CLUSTER, type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: UNROUTED_CLUSTER, endpoints: [] } };
}

/** The per-filter settings of a model API path: ext-authz's policy (request-count limits go on the action). */
export function modelApiFilters(p: ModelApiPath, routeName: string): JsonObject {
  return p.authPolicy !== undefined ? routeAuthz(p.authPolicy, routeName) : {};
}

export function modelRoutes(api: ResolvedModelApi & { readonly routing: ModelRouting }): JsonObject[] {
  const limits: ModelLimits | undefined = api.limits;
  const table = modelTableText(api.routing, limits);
  const perModel: JsonObject[] = [];
  const direct: JsonObject[] = [];
  // The same for every model: written once.
  const own = limits ? routeModelLimits(limits) : {};
  const directFilters = directRouteFilters(limits);
  for (const m of api.routing.models) {
    const route = { cluster: m.target.id, timeout: durationOf(m.timeoutMs), retry_policy: retryAcrossServices(m) };
    perModel.push({
      name: `model:${m.id}`,
      // Any path: a service of another dialect is called on its own (Ollama's /api/chat); only the
      // processor sets the metadata, and it does so for model API calls alone.
      match: { prefix: '/', dynamic_metadata: [{ filter: LLM_METADATA_NAMESPACE, path: [{ key: MODEL_METADATA_KEY }], value: { string_match: { exact: m.id } } }] },
      route,
      response_headers_to_add: [
        ANSWERED_BY,
        // The processor's cache verdict (a miss; absent when the cache was not asked, and then no header).
        { header: { key: CACHE_HEADER, value: `%DYNAMIC_METADATA(${LLM_METADATA_NAMESPACE}:${CACHE_METADATA_KEY})%` }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      ],
      ...(Object.keys(own).length ? { typed_per_filter_config: own } : {}),
    });
    direct.push(...directRoutes(m, route, [ANSWERED_BY], directFilters));
  }
  // Each model's door, on every entry path: a call whose body names it (and that no direct route
  // took) reaches the processor through its model's bounded cluster.
  const doors = api.routing.models.flatMap((m) => (m.door ? [doorRoute(m, m.door, modelTableText(api.routing, limits, m))] : []));
  // The entry routes: what ext-authz and the request-count limits see (they run before the body
  // is read), and the processor's for a call no door or direct route takes (an alias, a body
  // without a model). The body's model is read where a door or a direct route may follow.
  const readsModel = (path: string) => (doors.length || (direct.length && isDirectPath(path)) ? ROUTE_READS_MODEL : {});
  const entries = api.entries.map((p) => {
    const name = `llm${p.path}`;
    return {
      name,
      match: { path: p.path, headers: [{ name: ':method', string_match: { exact: 'POST' } }] },
      route: { cluster: UNROUTED_CLUSTER, timeout: '5s', ...(p.rateLimits.length ? { rate_limits: routeRateLimits(p.rateLimits) } : {}) },
      typed_per_filter_config: { ...modelApiFilters(p, name), ...routeBodyLimit(api.maxRequestBytes), ...readsModel(p.path), ...routeExtProc(table), ...(limits ? BUDGETS_ON : {}) },
    };
  });
  return [...perModel, ...direct, ...doors, ...entries];
}

/** A door's route name: this, then the model. */
const DOOR_ROUTE_PREFIX = 'door:';

/**
 * A model's door: the processor as on the entry routes, reached through the model's own cluster,
 * whose bound of streams refuses a call past it before the processor reads it (503, the
 * gateway's JSON with Retry-After: local-reply.ts). Any path, as the model routes: only the
 * entry routes read a body's model into this metadata. ext-authz and the request-count limits
 * have already seen the entry route; the body limit has been applied.
 */
function doorRoute(m: RoutedModel, door: Target, table: string): JsonObject {
  return {
    name: `${DOOR_ROUTE_PREFIX}${m.id}`,
    match: { prefix: '/', dynamic_metadata: [{ filter: DIRECT_METADATA_NAMESPACE, path: [{ key: DIRECT_KEYS.model }], value: { string_match: { exact: m.id } } }] },
    route: { cluster: UNROUTED_CLUSTER, timeout: '5s' },
    typed_per_filter_config: routeExtProc(table, { cluster: door.id, timeoutMs: door.policy.requestTimeoutMs }),
  };
}
