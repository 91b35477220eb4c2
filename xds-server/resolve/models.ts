// The gateway's model catalog: every model a service says it serves (meta `models`), or a
// model-route entry says it serves under its own name (`Services: [{Service, Model}]`, another
// provider's), with the services that serve it now — those with at least one healthy instance.
// A model whose every service is down is not in the catalog (callers are not offered what
// nobody can answer). Then the routing: each model's services in failover order, as one target
// (its cluster), and the aliases.
import { HOST_DIALECT_METADATA_KEY, HOST_MODEL_METADATA_KEY, type Dialect, type ModelScheduling } from '../../shared/llm-gateway.js';
import { serviceOfModel } from '../model/config-entries/schema.js';
import { isHealthy, type Service } from '../model/mesh.js';
import { targetId, type FailoverTarget, type Target } from './chain.js';
import { serviceEndpoints } from './endpoints.js';
import type { MeshReader } from './mesh-reader.js';
import { decide, type Layer } from './precedence.js';
import { servicePolicy } from './service-policy.js';

export interface CatalogModel {
  readonly id: string;
  /** Sorted. */
  readonly services: readonly string[];
}

/** Undefined when no service declares models (the gateway then has no model list at all). */
export function modelCatalog(m: MeshReader, infrastructure: ReadonlySet<string>): CatalogModel[] | undefined {
  const byModel = new Map<string, Set<string>>();
  const add = (id: string, service: string): void => {
    const set = byModel.get(id);
    if (set) set.add(service);
    else byModel.set(id, new Set([service]));
  };
  const serving = (s: Service | undefined): s is Service => !!s && !infrastructure.has(s.name) && s.instances.some(isHealthy);
  let declared = false;
  for (const service of m.services().values()) {
    if (infrastructure.has(service.name) || !service.settings.models?.length) continue;
    declared = true;
    if (serving(service)) for (const id of service.settings.models) add(id, service.name);
  }
  if (!declared) return undefined;
  for (const e of m.modelRoutes().values()) {
    for (const s of e.Services ?? []) if (typeof s !== 'string' && s.Model !== undefined && serving(m.service(s.Service))) add(e.Name, s.Service);
  }
  return [...byModel.keys()].sort().map((id) => ({ id, services: [...byModel.get(id)!].sort() }));
}

/** A model the gateway routes: its services in the order they are tried. */
export interface RoutedModel {
  readonly id: string;
  /** The first serves; the next take over on 429, 5xx, a failed connection or no healthy instance. */
  readonly services: readonly string[];
  /** How long the gateway waits for an answer (a stream: for all of it). */
  readonly timeoutMs: number;
  /** Services that know this model by another name: service → that name. Empty for most models. */
  readonly renamed: Readonly<Record<string, string>>;
  /** Its cluster ("model~<id>"): the first service's instances, the others' as failover (lower priorities). */
  readonly target: Target;
  /** The processor's endpoint picker places its calls; Envoy's balancing (the first service's) when it cannot. */
  readonly endpointPicker: boolean;
  /** [input, output] in currency units per million tokens (its model-route's Price), when priced. */
  readonly price?: readonly [number, number];
  /** The API each of its services speaks (a service's meta model-dialect, or the model-route's). */
  readonly dialects: Readonly<Record<string, Dialect>>;
  /** The one its services all speak; undefined when they differ (each attempt is written in its service's, upstream). */
  readonly dialect: Dialect | undefined;
  /**
   * Its calls go straight to its cluster, routed by Envoy from the body, when they need nothing
   * of the processor: the picker off, no other name for it, OpenAI's dialect throughout, no
   * price, no budgets in force, no service of it logging its calls. (A call still goes through
   * the processor when it streams, asks for the cache, or its policy logs it: the route decides
   * that per call.) Derived, not a setting: each of those is decided in its own place.
   */
  readonly direct: boolean;
  /**
   * Where its calls enter the processor: a copy of the processor's cluster of its own, whose
   * bound of streams is the model cluster's in flight plus waiting. Past it the gateway refuses
   * a call (503, Retry-After) before the processor sees it, at Envoy's cost alone: under a flood
   * a refusal the processor read first costs the shared core twice what a served call does, and
   * the processor's queue, not the model, became the bound (bench/RESULTS.md, issue 21). Absent
   * when the model's cluster has no such bound.
   */
  readonly door?: Target;
  /**
   * Its calls carry a `priority` the servers schedule by, preempting worse ones (vLLM's
   * `--scheduling-policy priority`): when the picker places them, its services speak OpenAI's
   * dialect (the body the priority is written in), and every one of them says
   * `model-scheduling: priority` (a server that does not refuses any priority but 0).
   */
  readonly serverPriority: boolean;
  /** How its services' servers schedule (meta model-scheduling); undefined when they differ. */
  readonly scheduling: ModelScheduling | undefined;
  readonly decidedBy: { readonly modelTimeout: Layer; readonly endpointPicker: Layer; readonly modelDialect: Layer; readonly modelScheduling: Layer };
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
 * The cluster of a model: its first service, the others as failover; a service's own name for
 * the model on its endpoints. The same object while its services and their instances are.
 */
function modelTarget(m: MeshReader, id: string, services: readonly string[], renamed: Readonly<Record<string, string>>, dialects: Readonly<Record<string, Dialect>> | undefined): Target {
  const key = `${id}\u0000${services.map((s) => `${s}=${renamed[s] ?? ''}=${dialects?.[s] ?? ''}`).join(',')}`;
  return m.memo('model-target', key, () => newModelTarget(m, id, services, renamed, dialects));
}

/** `dialects`: each service's, for a model whose services differ (on its endpoints, for the upstream stage). */
function newModelTarget(m: MeshReader, id: string, services: readonly string[], renamed: Readonly<Record<string, string>>, dialects: Readonly<Record<string, Dialect>> | undefined): Target {
  const part = (service: string): FailoverTarget => {
    const metadata = { ...(renamed[service] !== undefined ? { [HOST_MODEL_METADATA_KEY]: renamed[service] } : {}), ...(dialects ? { [HOST_DIALECT_METADATA_KEY]: dialects[service]! } : {}) };
    return { id: targetId(service, undefined), service, subset: undefined, endpoints: serviceEndpoints(m, service), ...(Object.keys(metadata).length ? { hostMetadata: metadata } : {}) };
  };
  const [first, ...rest] = services;
  // Called as the first service is (its policy: protocol, timeouts, limits).
  return { ...part(first!), id: `model~${id}`, policy: servicePolicy(m, first!), failover: rest.map(part) };
}

/** The cluster a model's calls reach the processor through. */
const doorId = (model: string): string => `door~${model}`;

/**
 * A model's door: the processor's target under another name, at most `calls` streams at once
 * (their waiting for a connection is the processor's own bound). Read through `processor` so
 * that the processor's instances changing renews it.
 */
function modelDoor(m: MeshReader, model: string, calls: number, processor: () => Target): Target {
  return m.memo('model-door', `${model}\u0000${calls}`, () => {
    const p = processor();
    return { ...p, id: doorId(model), policy: { ...p.policy, circuitBreakers: { ...p.policy.circuitBreakers, maxRequests: calls } } };
  });
}

/** What a model's door lets in: its cluster's calls in flight plus waiting, when both are bounded. */
function doorBound(target: Target): number | undefined {
  const { maxRequests, maxPendingRequests } = target.policy.circuitBreakers;
  return maxRequests !== undefined && maxPendingRequests !== undefined ? maxRequests + maxPendingRequests : undefined;
}

/**
 * The catalog with the model-route entries applied: each model's services in their failover
 * order (the entry's Services first, the rest by name), and the aliases whose targets are in
 * the catalog now. An alias target no healthy service serves is left out (its weight goes to
 * the others) and said; an alias left with none is absent, so it answers 404 like any unknown
 * model. `processor`: the LLM processor's target, which each model's door copies.
 */
export function modelRouting(m: MeshReader, catalog: readonly CatalogModel[], budgeted: boolean, processor: () => Target): ModelRouting {
  const notes: string[] = [];
  const entries = m.modelRoutes();
  const served = new Set(catalog.map((c) => c.id));
  const logged = [...new Set(catalog.flatMap((c) => c.services))].filter((s) => m.service(s)?.settings.requestLog).sort();
  const models = catalog.map((c): RoutedModel => {
    const e = entries.get(c.id);
    const first = (e?.Services ?? []).map(serviceOfModel).filter((s) => c.services.includes(s));
    const services = [...first, ...c.services.filter((s) => !first.includes(s))];
    const decided = services.map((service) => {
      const item = e?.Services?.find((s) => typeof s !== 'string' && s.Service === service);
      return decide('modelDialect', { 'model-route': typeof item === 'object' ? item.Dialect : undefined, meta: m.service(service)?.settings.modelDialect, default: 'openai' as Dialect });
    });
    const dialects = Object.fromEntries(services.map((s, i) => [s, decided[i]!.value]));
    const uniform = decided.every((d) => d.value === decided[0]!.value);
    const renamed: Record<string, string> = {};
    for (const s of e?.Services ?? []) if (typeof s !== 'string' && s.Model !== undefined && s.Model !== c.id && services.includes(s.Service)) renamed[s.Service] = s.Model;
    const timeout = decide('modelTimeout', { 'model-route': e?.RequestTimeoutMs, default: servicePolicy(m, services[0]!).requestTimeoutMs });
    const target = modelTarget(m, c.id, services, renamed, uniform ? undefined : dialects);
    const picker = decide('endpointPicker', { 'model-route': e?.EndpointPicker, default: 'load-and-prefix' });
    // Envoy's fallback under the picker is the service's own policy, unless it hashes (a hash
    // policy and an override are two answers to one question): then the picker stays off.
    const hashes = target.policy.loadBalancer.policy === 'ring_hash' || target.policy.loadBalancer.policy === 'maglev';
    if (picker.value !== 'off' && hashes) notes.push(`model ${c.id}: its first service balances by hash (${target.policy.loadBalancer.policy}); the endpoint picker is off for it`);
    const endpointPicker = picker.value !== 'off' && !hashes;
    const dialect = uniform ? decided[0]!.value : undefined;
    const scheduling = services.map((service) => decide('modelScheduling', { meta: m.service(service)?.settings.modelScheduling, default: 'fcfs' as ModelScheduling }));
    const bound = doorBound(target);
    return {
      id: c.id,
      services,
      timeoutMs: timeout.value,
      renamed,
      target,
      endpointPicker,
      ...(e?.Price ? { price: [e.Price.InputPerMillion, e.Price.OutputPerMillion] as const } : {}),
      dialects,
      dialect,
      direct: !endpointPicker && dialect === 'openai' && !Object.keys(renamed).length && !e?.Price && !budgeted && !services.some((s) => logged.includes(s)),
      ...(bound !== undefined ? { door: modelDoor(m, c.id, bound, processor) } : {}),
      serverPriority: endpointPicker && dialect === 'openai' && scheduling.every((d) => d.value === 'priority'),
      scheduling: scheduling.every((d) => d.value === scheduling[0]!.value) ? scheduling[0]!.value : undefined,
      decidedBy: { modelTimeout: timeout.from, endpointPicker: picker.from, modelDialect: decided[0]!.from, modelScheduling: scheduling[0]!.from },
    };
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
  return { models, aliases, logged, notes };
}
