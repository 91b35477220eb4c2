// The discovery chain of a service, as Consul compiles it: its service-router's routes, each to
// a destination; a destination without a subset goes through the service-splitter (weighted
// targets) or straight to the service-resolver's default subset; every target (service and
// subset) carries the policy of calling its service, the endpoints it selects and its failover
// targets, and every route its resolved policy (timeout, retries, hashing). Pure: what it reads
// comes through the MeshReader. Targets become clusters; failover targets lower-priority
// endpoints.
import type { SubsetFilter } from '../model/config-entries/subset-filter.js';
import { selectEndpoints, serviceEndpoints, type Endpoint } from './endpoints.js';
import type { MeshReader } from './mesh-reader.js';
import type { RoutePolicy, ServicePolicy } from './policy-types.js';
import { resolveRoutePolicy } from './route-policy.js';
import { routeMatchOf, type RouteMatch } from './route-match.js';
import { servicePolicy } from './service-policy.js';
import { pieceName, type Infrastructure } from './infrastructure.js';

/** Where a failover target's instances come in: after the target's own (priority 1, 2, …). */
export interface FailoverTarget {
  readonly id: string;
  readonly service: string;
  readonly subset: string | undefined;
  readonly endpoints: readonly Endpoint[];
  /** More of meshgate's endpoint metadata for these instances (a model cluster's: the name its service knows the model by). */
  readonly hostMetadata?: Readonly<Record<string, string>>;
}

export interface Target extends FailoverTarget {
  /** The policy of calling its service: what its cluster spells. */
  readonly policy: ServicePolicy;
  /** Tried in order when this target has no healthy instance. */
  readonly failover: readonly FailoverTarget[];
}

export type Action =
  | { readonly kind: 'target'; readonly target: Target }
  | { readonly kind: 'split'; readonly splits: ReadonlyArray<{ readonly weight: number; readonly target: Target }> };

export interface ChainRoute {
  readonly match: RouteMatch | undefined;
  readonly action: Action;
  readonly policy: RoutePolicy;
}

export interface Chain {
  readonly service: string;
  readonly routes: readonly ChainRoute[];
  /** Everything the service-router's routes do not match. */
  readonly fallback: ChainRoute;
  /** Every target it can send to (each becomes a cluster), by id. */
  readonly targets: readonly Target[];
  readonly notes: readonly string[];
}

/** Matches no instance: a subset that does not exist has no endpoints (503), never all of them. */
const NOTHING: SubsetFilter = [{ kind: 'tag', tag: '\u0000no such subset', negate: false }];

/** The cluster name of a service's subset: "<service>", or "<subset>.<service>". */
export function targetId(service: string, subset: string | undefined): string {
  return subset ? `${subset}.${service}` : service;
}

function failoverTarget(m: MeshReader, service: string, subset: string | undefined, notes: string[]): FailoverTarget {
  const resolver = m.resolver(service);
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
  return { id: targetId(service, chosen), service, subset: chosen, endpoints: selectEndpoints(serviceEndpoints(m, service), filter, onlyPassing) };
}

function resolveTarget(m: MeshReader, service: string, subset: string | undefined, notes: string[], infrastructure: InfrastructureOf): Target {
  const own = failoverTarget(m, service, subset, notes);
  const resolver = m.resolver(service);
  const failover: FailoverTarget[] = [];
  if (resolver?.Failover) {
    const f = (own.subset ? resolver.Failover[own.subset] : undefined) ?? resolver.Failover['*'];
    const targets = f?.Targets?.length ? f.Targets : f ? [{ Service: f.Service, ServiceSubset: f.ServiceSubset }] : [];
    for (const t of targets) failover.push(failoverTarget(m, t.Service ?? service, t.ServiceSubset, notes));
  }
  return { ...own, policy: servicePolicy(m, service, infrastructure(service)), failover };
}

function actionFor(m: MeshReader, service: string, subset: string | undefined, notes: string[], infrastructure: InfrastructureOf): Action {
  if (!subset) {
    const splitter = m.splitter(service);
    if (splitter) {
      const splits = splitter.Splits.filter((s) => s.Weight > 0).map((s) => ({ weight: s.Weight, target: resolveTarget(m, s.Service ?? service, s.ServiceSubset, notes, infrastructure) }));
      if (splits.length === 1) return { kind: 'target', target: splits[0]!.target };
      return { kind: 'split', splits };
    }
  }
  return { kind: 'target', target: resolveTarget(m, service, subset, notes, infrastructure) };
}

/** The service whose policy a route follows: its (first) target's. */
function firstTarget(action: Action): Target {
  return action.kind === 'target' ? action.target : action.splits[0]!.target;
}

function compileChain(m: MeshReader, service: string, infrastructure: InfrastructureOf): Chain {
  const notes: string[] = [];
  const routes: ChainRoute[] = (m.router(service)?.Routes ?? []).map((r) => {
    const action = actionFor(m, r.Destination?.Service ?? service, r.Destination?.ServiceSubset, notes, infrastructure);
    return { match: routeMatchOf(r.Match?.HTTP), action, policy: resolveRoutePolicy(firstTarget(action).policy, r.Destination) };
  });
  const action = actionFor(m, service, undefined, notes, infrastructure);
  const fallback: ChainRoute = { match: undefined, action, policy: resolveRoutePolicy(firstTarget(action).policy, undefined) };
  return { service, routes, fallback, targets: targetsOf([...routes, fallback]), notes };
}

/** Which service is called as the gateway's filters call it (the resolver's infrastructure). */
type InfrastructureOf = (service: string) => Infrastructure | undefined;
const NONE: InfrastructureOf = () => undefined;

/**
 * The chain of calling `service`, reused while everything it read is unchanged. `infrastructure`:
 * the service is one the gateway's filters call (its own targets then follow that policy).
 */
export function chainOf(m: MeshReader, service: string, infrastructure?: Infrastructure): Chain {
  const infra: InfrastructureOf = infrastructure ? (s) => (s === service ? infrastructure : undefined) : NONE;
  return m.memo('chain', pieceName(service, infrastructure), () => compileChain(m, service, infra));
}

/** Every target of these routes, once each (the last with an id wins, as they are the same). */
function targetsOf(routes: readonly ChainRoute[]): Target[] {
  const out = new Map<string, Target>();
  for (const { action: a } of routes) {
    if (a.kind === 'target') out.set(a.target.id, a.target);
    else for (const s of a.splits) out.set(s.target.id, s.target);
  }
  return [...out.values()];
}
