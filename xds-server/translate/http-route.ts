// Envoy routes from a discovery chain: a service-router route's match, and any action's
// destination — one cluster or weighted clusters — with the prefix rewrite, timeout, retries
// and hash policies the entries ask for.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { HttpMatch, RouterDestination } from '../model/config-entries/schema.js';
import type { MeshState } from '../model/mesh.js';
import type { Action } from './chain.js';
import { durationOf, ms, protoDuration } from './duration.js';

const PREVIOUS_HOSTS = [
  {
    name: 'envoy.retry_host_predicates.previous_hosts',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' },
  },
];

/** Without retry settings: retry what never reached the service (safe for every method), elsewhere. */
export const SAFE_RETRIES: JsonObject = {
  retry_on: 'connect-failure,refused-stream',
  num_retries: 2,
  retry_host_predicate: PREVIOUS_HOSTS,
  host_selection_retry_max_attempts: 3,
};

function stringMatch(m: { Exact?: string | undefined; Prefix?: string | undefined; Suffix?: string | undefined; Regex?: string | undefined }): JsonObject {
  if (m.Exact !== undefined) return { exact: m.Exact };
  if (m.Prefix !== undefined) return { prefix: m.Prefix };
  if (m.Suffix !== undefined) return { suffix: m.Suffix };
  return { safe_regex: { regex: m.Regex! } };
}

/** A router match; `basePath` stands in when the match names no path (the gateway's prefix). */
export function routeMatch(m: HttpMatch | undefined, basePath: JsonObject = { prefix: '/' }): JsonObject {
  const out: JsonObject = m?.PathExact !== undefined ? { path: m.PathExact } : m?.PathPrefix !== undefined ? { prefix: m.PathPrefix } : m?.PathRegex !== undefined ? { safe_regex: { regex: m.PathRegex } } : { ...basePath };
  const headers: JsonObject[] = (m?.Header ?? []).map((h) => ({
    name: h.Name.toLowerCase(),
    ...(h.Present !== undefined ? { present_match: h.Present } : { string_match: stringMatch(h) }),
    ...(h.Invert ? { invert_match: true } : {}),
  }));
  if (m?.Methods?.length) {
    headers.push({ name: ':method', string_match: m.Methods.length === 1 ? { exact: m.Methods[0]! } : { safe_regex: { regex: `^(${m.Methods.join('|')})$` } } });
  }
  if (headers.length) out['headers'] = headers;
  const query = (m?.QueryParam ?? []).map((q) => ({
    name: q.Name,
    ...(q.Present !== undefined ? { present_match: q.Present } : { string_match: q.Exact !== undefined ? { exact: q.Exact } : { safe_regex: { regex: q.Regex! } } }),
  }));
  if (query.length) out['query_parameters'] = query;
  return out;
}

function retryPolicy(d: RouterDestination | undefined): JsonObject {
  if (!d || (d.NumRetries === undefined && !d.RetryOn?.length && !d.RetryOnConnectFailure && !d.RetryOnStatusCodes?.length)) return SAFE_RETRIES;
  const on = new Set<string>(d.RetryOn ?? []);
  if (d.RetryOnConnectFailure) on.add('connect-failure');
  if (d.RetryOnStatusCodes?.length) on.add('retriable-status-codes');
  const policy: JsonObject = {
    retry_on: [...on].join(',') || 'connect-failure',
    num_retries: d.NumRetries ?? 1,
    retry_host_predicate: PREVIOUS_HOSTS,
    host_selection_retry_max_attempts: 3,
  };
  if (d.RetryOnStatusCodes?.length) policy['retriable_status_codes'] = d.RetryOnStatusCodes;
  if (d.PerTryTimeout) policy['per_try_timeout'] = protoDuration(d.PerTryTimeout);
  if (d.RetryBackOff) {
    policy['retry_back_off'] = {
      base_interval: protoDuration(d.RetryBackOff.BaseInterval),
      ...(d.RetryBackOff.MaxInterval ? { max_interval: protoDuration(d.RetryBackOff.MaxInterval) } : {}),
    };
  }
  return policy;
}

function hashPolicies(state: MeshState, service: string): JsonObject[] {
  const policies = state.entries.resolvers.get(service)?.LoadBalancer?.HashPolicies ?? [];
  return policies.map((h) => {
    const terminal = h.Terminal ? { terminal: true } : {};
    if (h.SourceIP) return { connection_properties: { source_ip: true }, ...terminal };
    if (h.Field === 'header') return { header: { header_name: h.FieldValue!.toLowerCase() }, ...terminal };
    if (h.Field === 'query_parameter') return { query_parameter: { name: h.FieldValue! }, ...terminal };
    const c = h.CookieConfig;
    return {
      cookie: { name: h.FieldValue!, ...(c?.TTL && !c.Session ? { ttl: protoDuration(c.TTL) } : {}), ...(c?.Path ? { path: c.Path } : {}) },
      ...terminal,
    };
  });
}

/** The whole-request timeout: the route's, the resolver's, service-defaults', the meta's. */
function timeoutMs(state: MeshState, service: string, d: RouterDestination | undefined): number {
  if (d?.RequestTimeout) return ms(d.RequestTimeout);
  const resolverTimeout = state.entries.resolvers.get(service)?.RequestTimeout;
  if (resolverTimeout) return ms(resolverTimeout);
  return state.entries.defaults.get(service)?.RequestTimeoutMs ?? state.services.get(service)?.settings.requestTimeoutMs ?? 30_000;
}

export function routeAction(state: MeshState, action: Action, destination: RouterDestination | undefined): JsonObject {
  const first = action.kind === 'target' ? action.target : action.splits[0]!.target;
  const out: JsonObject =
    action.kind === 'target'
      ? { cluster: action.target.id }
      : // Consul weights have two decimals; Envoy's are whole numbers: ×100.
        { weighted_clusters: { clusters: action.splits.map((s) => ({ name: s.target.id, weight: Math.round(s.weight * 100) })) } };
  if (destination?.PrefixRewrite) out['prefix_rewrite'] = destination.PrefixRewrite;
  out['timeout'] = durationOf(timeoutMs(state, first.service, destination));
  out['retry_policy'] = retryPolicy(destination);
  const hash = hashPolicies(state, first.service);
  if (hash.length) out['hash_policy'] = hash;
  return out;
}
