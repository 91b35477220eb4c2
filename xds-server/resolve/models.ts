// The gateway's model catalog: every model a service says it serves (meta `models`), or a
// model-route entry says it serves under its own name (`Services: [{Service, Model}]`, another
// provider's), with the services that serve it now — those with at least one healthy instance.
// A model whose every service is down is not in the catalog (callers are not offered what
// nobody can answer).
import { serviceOfModel } from '../model/config-entries/schema.js';
import type { MeshState, Service } from '../model/mesh.js';
import type { ServicePolicy } from './policy-types.js';

export interface CatalogModel {
  readonly id: string;
  /** Sorted. */
  readonly services: readonly string[];
}

/** Undefined when no service declares models (the gateway then has no model list at all). */
export function modelCatalog(state: MeshState, internal: ReadonlySet<string> = new Set()): CatalogModel[] | undefined {
  const byModel = new Map<string, Set<string>>();
  const add = (id: string, service: string): void => {
    const set = byModel.get(id);
    if (set) set.add(service);
    else byModel.set(id, new Set([service]));
  };
  const healthy = (s: Service | undefined): s is Service => !!s && !internal.has(s.name) && s.instances.some((i) => i.health === 'HEALTHY');
  let declared = false;
  for (const service of state.services.values()) {
    if (internal.has(service.name) || !service.settings.models?.length) continue;
    declared = true;
    if (healthy(service)) for (const id of service.settings.models) add(id, service.name);
  }
  if (!declared) return undefined;
  for (const e of state.entries.modelRoutes.values()) {
    for (const s of e.Services ?? []) if (typeof s !== 'string' && healthy(state.services.get(s.Service))) add(e.Name, s.Service);
  }
  return [...byModel.keys()].sort().map((id) => ({ id, services: [...byModel.get(id)!].sort() }));
}

/** A model the gateway routes: its services in the order they are tried. */
export interface RoutedModel {
  readonly id: string;
  /** The first serves; the next take over on 429, 5xx, a failed connection or no healthy instance. */
  readonly services: readonly string[];
  /** The model-route entry's, else the first service's request timeout. */
  readonly timeoutMs: number;
  /** Services that know this model by another name: service → that name. Empty for most models. */
  readonly renamed: Readonly<Record<string, string>>;
}

export interface ModelAlias {
  readonly name: string;
  /** Models of the catalog, by weight. */
  readonly targets: ReadonlyArray<readonly [string, number]>;
}

export interface ModelRouting {
  readonly models: readonly RoutedModel[];
  readonly aliases: readonly ModelAlias[];
  /** Model services that asked for their calls to be logged (meta request-log=on), sorted. */
  readonly logged: readonly string[];
  readonly notes: readonly string[];
}

/**
 * The catalog with the model-route entries applied: each model's services in their failover
 * order (the entry's Services first, the rest by name), and the aliases whose targets are in
 * the catalog now. An alias target no healthy service serves is left out (its weight goes to
 * the others) and said; an alias left with none is absent, so it answers 404 like any unknown
 * model.
 */
export function modelRouting(state: MeshState, catalog: readonly CatalogModel[], policyOf: (service: string) => ServicePolicy): ModelRouting {
  const notes: string[] = [];
  const entries = state.entries.modelRoutes;
  const served = new Set(catalog.map((m) => m.id));
  const models = catalog.map((m): RoutedModel => {
    const e = entries.get(m.id);
    const first = (e?.Services ?? []).map(serviceOfModel).filter((s) => m.services.includes(s));
    const services = [...first, ...m.services.filter((s) => !first.includes(s))];
    const renamed: Record<string, string> = {};
    for (const s of e?.Services ?? []) if (typeof s !== 'string' && s.Model !== m.id && m.services.includes(s.Service)) renamed[s.Service] = s.Model;
    return { id: m.id, services, timeoutMs: e?.RequestTimeoutMs ?? policyOf(services[0]!).requestTimeoutMs, renamed };
  });
  const aliases: ModelAlias[] = [];
  for (const e of [...entries.values()].sort((a, b) => (a.Name < b.Name ? -1 : 1))) {
    if (!e.Targets) continue;
    if (served.has(e.Name)) {
      notes.push(`model-route ${e.Name}: a service serves a model of this name; the alias is ignored`);
      continue;
    }
    const live = e.Targets.filter((t) => served.has(t.Model));
    for (const t of e.Targets) if (!served.has(t.Model)) notes.push(`model-route ${e.Name}: target ${t.Model} has no healthy service; left out`);
    if (live.length) aliases.push({ name: e.Name, targets: live.map((t) => [t.Model, t.Weight] as const) });
  }
  const logged = [...new Set(catalog.flatMap((m) => m.services))].filter((s) => state.services.get(s)?.settings.requestLog).sort();
  return { models, aliases, logged, notes };
}
