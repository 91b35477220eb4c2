// The gateway role: one listener, one route table, and a cluster with its endpoints for every
// service in the mesh. Pure: the same state and options always give the same resources.
import { IDENTITY_HEADERS_META } from '../../shared/identity-headers.js';
import type { MeshState, Service } from '../model/mesh.js';
import { chainTargets, targetId, type Chain, type Target } from './chain.js';
import { targetCluster } from './cluster.js';
import { loadAssignment } from './endpoints.js';
import { GATEWAY_LISTENER, GATEWAY_ROUTES, gatewayListener, type ListenerAddress } from './gateway-listener.js';
import { gatewayRoutes } from './gateway-routes.js';
import { gatewayHttpFilters, type AuthzOptions } from './http-filters.js';
import { TranslationMemo } from './memo.js';
import type { RatelimitOptions } from './rate-limits.js';
import type { Translation } from './resource-set.js';

export interface GatewayOptions extends ListenerAddress {
  /** Request headers only ext-authz may set; client-sent copies are always removed. */
  readonly identityHeaders: readonly string[];
  /** When set, every route is checked by ext-authz unless its policy is "none". */
  readonly authz?: AuthzOptions;
  /** When set, routes with rate-limit descriptors ask the rate-limit service. */
  readonly ratelimit?: RatelimitOptions;
}

/**
 * An infrastructure service (ext-authz, ratelimit) as the gateway needs it: always present
 * (Envoy refuses a filter whose gRPC cluster does not exist; an empty cluster fails the way
 * the filter is configured to), spoken to over HTTP/2, and never routed.
 */
function infraService(state: MeshState, name: string, timeoutMs: number): Service {
  const known = state.services.get(name);
  const base = known?.settings ?? { requestTimeoutMs: timeoutMs, connectTimeoutMs: 1_000 };
  return { name, settings: { ...base, protocol: 'grpc', gatewayPaths: [] }, instances: known?.instances ?? [] };
}

/** Identity headers to strip: ours, and any the ext-authz instances announce. */
function headersToStrip(state: MeshState, options: GatewayOptions): string[] {
  const names = new Set(options.identityHeaders);
  if (options.authz) {
    for (const i of state.services.get(options.authz.service)?.instances ?? []) {
      for (const h of (i.meta[IDENTITY_HEADERS_META] ?? '').split(',')) if (h.trim()) names.add(h.trim().toLowerCase());
    }
  }
  return [...names].sort();
}

/** An infrastructure service's one target: all its instances, no entries applied. */
function infraTarget(name: string): Target {
  return { id: targetId(name, undefined), service: name, subset: undefined, filter: undefined, onlyPassing: false, failover: [] };
}

export function translateGateway(state: MeshState, options: GatewayOptions, memo: TranslationMemo = new TranslationMemo()): Translation {
  const infra = new Map<string, Service>();
  for (const o of [options.authz, options.ratelimit]) if (o) infra.set(o.service, infraService(state, o.service, o.timeoutMs));
  // Infrastructure targets read only their own (synthetic) service: a state holding just those.
  const infraState: MeshState = { ...state, services: infra };

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
  const sorted = [...targets.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const routes = gatewayRoutes(state, options.authz, options.ratelimit !== undefined, new Set(infra.keys()), chains);
  const filters = gatewayHttpFilters(headersToStrip(state, options), options.authz, options.ratelimit);
  return {
    resources: {
      // Infrastructure targets are made up per call (never memoized: their Service is synthetic).
      cluster: sorted.map((t) => ({ name: t.id, resource: infra.has(t.service) ? targetCluster(infraState, t) : memo.cluster(state, t) })),
      endpoint: sorted.map((t) => ({ name: t.id, resource: infra.has(t.service) ? loadAssignment(infraState, t) : memo.endpoints(state, t) })),
      listener: [{ name: GATEWAY_LISTENER, resource: gatewayListener(options, filters) }],
      route: [{ name: GATEWAY_ROUTES, resource: routes.resource }],
    },
    notes: [...new Set([...notes, ...routes.notes])],
  };
}
