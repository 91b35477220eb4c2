// The discovery chain of a service, as Consul compiles it: its service-router's routes, each to
// a destination; a destination without a subset goes through the service-splitter (weighted
// targets) or straight to the service-resolver's default subset; every target (service and
// subset) carries its subset filter and its failover targets, and every route its resolved
// policy (timeout, retries, hashing). Pure: entries and services in, chain out. Targets become
// clusters; failover targets become lower-priority endpoints.
import type { HttpMatch } from '../model/config-entries/schema.js';
import type { SubsetFilter } from '../model/config-entries/subset-filter.js';
import type { MeshState } from '../model/mesh.js';
import type { RoutePolicy, ServicePolicy } from './policy-types.js';
import { resolveRoutePolicy } from './route-policy.js';
import { resolveServicePolicy } from './service-policy.js';

export interface Target {
  /** The cluster name: "<service>", or "<subset>.<service>". */
  readonly id: string;
  readonly service: string;
  readonly subset: string | undefined;
  /** undefined: every instance. */
  readonly filter: SubsetFilter | undefined;
  readonly onlyPassing: boolean;
  /** Tried in order when this target has no healthy instance (no further failover of their own). */
  readonly failover: readonly Target[];
  /** More of meshgate's endpoint metadata for this target's instances (a model cluster's: the name its service knows the model by). */
  readonly hostMetadata?: Readonly<Record<string, string>>;
}

export type Action =
  | { readonly kind: 'target'; readonly target: Target }
  | { readonly kind: 'split'; readonly splits: ReadonlyArray<{ readonly weight: number; readonly target: Target }> };

export interface ChainRoute {
  readonly match: HttpMatch | undefined;
  readonly action: Action;
  readonly policy: RoutePolicy;
}

export interface Chain {
  readonly service: string;
  readonly routes: readonly ChainRoute[];
  /** Everything the service-router's routes do not match. */
  readonly fallback: ChainRoute;
  readonly notes: readonly string[];
}

export type PolicyLookup = (service: string) => ServicePolicy;

/** Matches no instance: a subset that does not exist has no endpoints (503), never all of them. */
const NOTHING: SubsetFilter = [{ kind: 'tag', tag: '\u0000no such subset', negate: false }];

export function targetId(service: string, subset: string | undefined): string {
  return subset ? `${subset}.${service}` : service;
}

function resolveTarget(state: MeshState, service: string, subset: string | undefined, notes: string[], withFailover: boolean): Target {
  const resolver = state.entries.resolvers.get(service);
  const chosen = subset ?? resolver?.DefaultSubset;
  let filter: SubsetFilter | undefined;
  let onlyPassing = false;
  if (chosen) {
    const def = resolver?.Subsets?.[chosen];
    if (def) {
      filter = def.Filter.clauses;
      onlyPassing = def.OnlyPassing;
    } else {
      notes.push(`subset "${chosen}" of ${service} is not defined by a service-resolver: it has no instances`);
      filter = NOTHING;
    }
  }
  const failover: Target[] = [];
  if (withFailover && resolver?.Failover) {
    const f = (chosen ? resolver.Failover[chosen] : undefined) ?? resolver.Failover['*'];
    const targets = f?.Targets?.length ? f.Targets : f ? [{ Service: f.Service, ServiceSubset: f.ServiceSubset }] : [];
    for (const t of targets) failover.push(resolveTarget(state, t.Service ?? service, t.ServiceSubset, notes, false));
  }
  return { id: targetId(service, chosen), service, subset: chosen, filter, onlyPassing, failover };
}

function actionFor(state: MeshState, service: string, subset: string | undefined, notes: string[]): Action {
  if (!subset) {
    const splitter = state.entries.splitters.get(service);
    if (splitter) {
      const splits = splitter.Splits.filter((s) => s.Weight > 0).map((s) => ({
        weight: s.Weight,
        target: resolveTarget(state, s.Service ?? service, s.ServiceSubset, notes, true),
      }));
      if (splits.length === 1) return { kind: 'target', target: splits[0]!.target };
      return { kind: 'split', splits };
    }
  }
  return { kind: 'target', target: resolveTarget(state, service, subset, notes, true) };
}

/** The service whose policy a route follows: its (first) target's. */
function firstTarget(action: Action): Target {
  return action.kind === 'target' ? action.target : action.splits[0]!.target;
}

export function compileChain(state: MeshState, service: string, policyOf: PolicyLookup = (s) => resolveServicePolicy(state, s)): Chain {
  const notes: string[] = [];
  const routes: ChainRoute[] = (state.entries.routers.get(service)?.Routes ?? []).map((r) => {
    const action = actionFor(state, r.Destination?.Service ?? service, r.Destination?.ServiceSubset, notes);
    return { match: r.Match?.HTTP, action, policy: resolveRoutePolicy(policyOf(firstTarget(action).service), r.Destination) };
  });
  const action = actionFor(state, service, undefined, notes);
  const fallback: ChainRoute = { match: undefined, action, policy: resolveRoutePolicy(policyOf(firstTarget(action).service), undefined) };
  return { service, routes, fallback, notes };
}

/** Every target a chain can send to (each becomes a cluster). */
export function chainTargets(chain: Chain): Target[] {
  const out = new Map<string, Target>();
  const add = (a: Action): void => {
    if (a.kind === 'target') out.set(a.target.id, a.target);
    else for (const s of a.splits) out.set(s.target.id, s.target);
  };
  for (const r of chain.routes) add(r.action);
  add(chain.fallback.action);
  return [...out.values()];
}
