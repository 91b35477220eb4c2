// Envoy routes from a discovery chain: a service-router route's match, and its action — one
// cluster or weighted clusters — with the resolved prefix rewrite, timeout, retries and hash
// policies. A route whose retries differ for idempotent methods becomes two Envoy routes: the
// idempotent methods first, with the extra retry conditions, then every other method. The
// default retry policy for other methods is the virtual host's (VIRTUAL_HOST_RETRIES): a route
// that would repeat it carries none, which keeps a gateway's route table half the size.
import type { JsonObject } from '../../shared/proto/codec.js';
import { DEFAULT_RETRIES, IDEMPOTENT_METHODS } from '../resolve/defaults.js';
import type { HashPolicy, RetryPolicy, RoutePolicy } from '../resolve/policy-types.js';
import type { Action, ChainRoute, RouteMatch, StringMatch } from '../resolve/resolved-mesh.js';
import { durationOf } from './duration.js';

export const PREVIOUS_HOSTS = [
  {
    name: 'envoy.retry_host_predicates.previous_hosts',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' },
  },
];

function stringMatch(m: StringMatch): JsonObject {
  return m.kind === 'regex' ? { safe_regex: { regex: m.value } } : { [m.kind]: m.value };
}

function methodMatch(methods: readonly string[]): JsonObject {
  return { name: ':method', string_match: methods.length === 1 ? { exact: methods[0]! } : { safe_regex: { regex: `^(${methods.join('|')})$` } } };
}

/** A route's match; `basePath` stands in when the match names no path (the gateway's prefix). */
export function routeMatch(m: RouteMatch | undefined, basePath: JsonObject = { prefix: '/' }, methods: readonly string[] | undefined = m?.methods): JsonObject {
  const p = m?.path;
  const out: JsonObject = p ? (p.kind === 'regex' ? { safe_regex: { regex: p.value } } : p.kind === 'exact' ? { path: p.value } : { prefix: p.value }) : { ...basePath };
  const headers: JsonObject[] = (m?.headers ?? []).map((h) => ({
    name: h.name,
    ...(h.match.kind === 'present' ? { present_match: h.match.value } : { string_match: stringMatch(h.match) }),
    ...(h.invert ? { invert_match: true } : {}),
  }));
  if (methods?.length) headers.push(methodMatch(methods));
  if (headers.length) out['headers'] = headers;
  const query = (m?.query ?? []).map((q) => ({
    name: q.name,
    ...(q.match.kind === 'present' ? { present_match: q.match.value } : { string_match: q.match.kind === 'exact' ? { exact: q.match.value } : { safe_regex: { regex: q.match.value } } }),
  }));
  if (query.length) out['query_parameters'] = query;
  return out;
}

function retryPolicy(r: RetryPolicy, idempotent: boolean): JsonObject {
  const on = idempotent ? [...r.retryOn, ...(r.idempotentRetryOn ?? [])] : r.retryOn;
  const policy: JsonObject = {
    retry_on: on.join(','),
    num_retries: r.numRetries,
    retry_host_predicate: PREVIOUS_HOSTS,
    host_selection_retry_max_attempts: 3,
  };
  if (r.statusCodes?.length) policy['retriable_status_codes'] = r.statusCodes;
  if (r.perTryTimeoutMs !== undefined) policy['per_try_timeout'] = durationOf(r.perTryTimeoutMs);
  if (r.backOff) policy['retry_back_off'] = { base_interval: durationOf(r.backOff.baseMs), ...(r.backOff.maxMs !== undefined ? { max_interval: durationOf(r.backOff.maxMs) } : {}) };
  return policy;
}

function hashPolicy(h: HashPolicy): JsonObject {
  const terminal = h.terminal ? { terminal: true } : {};
  switch (h.kind) {
    case 'source_ip':
      return { connection_properties: { source_ip: true }, ...terminal };
    case 'header':
      return { header: { header_name: h.name }, ...terminal };
    case 'query_parameter':
      return { query_parameter: { name: h.name }, ...terminal };
    case 'cookie':
      return { cookie: { name: h.name, ...(h.ttlMs !== undefined ? { ttl: durationOf(h.ttlMs) } : {}), ...(h.path ? { path: h.path } : {}) }, ...terminal };
  }
}

/** Every virtual host's retry policy: the default for requests that are not idempotent. */
export const VIRTUAL_HOST_RETRIES: JsonObject = retryPolicy(DEFAULT_RETRIES, false);

function routeAction(action: Action, policy: RoutePolicy, idempotent: boolean): JsonObject {
  const out: JsonObject =
    action.kind === 'target'
      ? { cluster: action.target.id }
      : // Consul weights have two decimals; Envoy's are whole numbers: ×100.
        { weighted_clusters: { clusters: action.splits.map((s) => ({ name: s.target.id, weight: Math.round(s.weight * 100) })) } };
  if (policy.prefixRewrite) out['prefix_rewrite'] = policy.prefixRewrite;
  out['timeout'] = durationOf(policy.timeoutMs);
  // The virtual host's policy applies where a route names none (Envoy does not merge the two).
  if (idempotent || policy.retries !== DEFAULT_RETRIES) out['retry_policy'] = retryPolicy(policy.retries, idempotent);
  if (policy.hashPolicies.length) out['hash_policy'] = policy.hashPolicies.map(hashPolicy);
  return out;
}

/** What a caller adds to each Envoy route of a chain route (ext-authz, rate limits, body limits). */
export type RouteExtras = (routeName: string, action: JsonObject, route: ChainRoute) => JsonObject;

/** One Envoy route of a chain route (envoyRoutes may make two). */
export function envoyRoute(
  name: string,
  route: ChainRoute,
  basePath: JsonObject | undefined,
  extras: RouteExtras,
  methods: readonly string[] | undefined = route.match?.methods,
  idempotent = false,
): JsonObject {
  const action = routeAction(route.action, route.policy, idempotent);
  return { name, match: routeMatch(route.match, basePath, methods), route: action, ...extras(name, action, route) };
}

/**
 * The Envoy routes of one chain route, named `name`: one, or — when idempotent methods retry on
 * more — the idempotent methods' route and then the rest's. `basePath` is the match's path when
 * the route names none.
 */
export function envoyRoutes(name: string, route: ChainRoute, basePath?: JsonObject, extras: RouteExtras = () => ({})): JsonObject[] {
  const one = (methods: readonly string[] | undefined, idempotent: boolean): JsonObject => envoyRoute(name, route, basePath, extras, methods, idempotent);
  if (!route.policy.retries.idempotentRetryOn?.length) return [one(route.match?.methods, false)];
  const asked = route.match?.methods;
  const idempotent = (asked ?? IDEMPOTENT_METHODS).filter((m) => (IDEMPOTENT_METHODS as readonly string[]).includes(m));
  const others = asked?.filter((m) => !idempotent.includes(m));
  const out: JsonObject[] = [];
  if (idempotent.length) out.push(one(idempotent, true));
  if (others === undefined) out.push(one(undefined, false));
  else if (others.length) out.push(one(others, false));
  return out;
}
