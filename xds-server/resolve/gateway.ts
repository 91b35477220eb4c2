// The gateway, resolved: which service owns each path (claims.ts: longer prefixes first, a
// prefix two services claim to the first by name, the other claim reported), each path's
// ext-authz policy and rate limits, the chain routes under it, the transcoded services, the
// model API (catalog, routing, who may call it), the identity headers, and every cluster.
// Translation spells this in Envoy's terms and decides nothing.
import { LLM_PATHS } from '../../shared/llm-gateway.js';
import { IDENTITY_HEADERS_META } from '../../shared/identity-headers.js';
import type { GatewayPath, RateLimitDescriptor, SecretValue } from '../model/mesh.js';
import { chainOf, type Chain, type ChainRoute, type Target } from './chain.js';
import { decideClaims, type Claim } from './claims.js';
import { DEFAULT_TRANSCODED_MAX_REQUEST_BYTES } from './defaults.js';
import { serviceEndpoints } from './endpoints.js';
import { modelLimitsOf, type GatewaySettings, type ModelLimits } from './gateway-settings.js';
import { pieceName, type Infrastructure } from './infrastructure.js';
import { pathLogin, type LoginCluster, type PathLogin } from './login.js';
import type { MeshReader } from './mesh-reader.js';
import { modelCatalog, modelRouting, type CatalogModel, type ModelRouting } from './models.js';
import type { AdmissionPolicy, ServicePolicy } from './policy-types.js';
import type { RouteMatch } from './route-match.js';
import { servicePolicy } from './service-policy.js';
import type { TranscodedService } from './transcoded.js';

/** GET here lists the models, answered by the gateway itself. */
export const MODELS_PATH = '/v1/models';

/** A chain route under a gateway path; `index` is its place in the service-router (none: the fallback). */
export interface PathRoute {
  readonly index?: number;
  readonly route: ChainRoute;
}

export interface GatewayPathRoute {
  readonly prefix: string;
  /** '/test' matches '/test' and '/test/…' only; '/v1/' (ending in '/') is a plain prefix. */
  readonly separated: boolean;
  readonly service: string;
  /** ext-authz's policy here (a name, or 'none': public): the path's own, else the service's, else the default; undefined without ext-authz. */
  readonly authPolicy: string | undefined;
  /** Descriptors sent to the rate-limit service (none without it). */
  readonly rateLimits: readonly RateLimitDescriptor[];
  /** The gate before those checks (pathAdmission): present only where the path asks one. */
  readonly admission?: AdmissionPolicy;
  /** The service-router routes that fall under this path, then the chain's fallback. */
  readonly routes: readonly PathRoute[];
  /** Browsers log in first (the service's meta `login`): the login, or why it is unavailable (then the path is closed). */
  readonly login?: PathLogin;
}

/** Who may call a model API path: the policy and limits of the gateway path it lies under. */
export interface ModelApiPath {
  readonly path: string;
  readonly authPolicy: string | undefined;
  readonly rateLimits: readonly RateLimitDescriptor[];
}

export interface ResolvedModelApi {
  readonly catalog: readonly CatalogModel[];
  /** GET /v1/models. */
  readonly list: ModelApiPath;
  /** Present with the LLM processor: the model API routed by model. */
  readonly routing?: ModelRouting;
  /** The processor's entry routes (POST /v1/chat/completions, …), with routing only. */
  readonly entries: readonly ModelApiPath[];
  readonly maxRequestBytes: number;
  /** Token budgets and per-model request counts, when in force. */
  readonly limits: ModelLimits | undefined;
}

/** A claim refused: a path, or gRPC services, another service (first by name) got. */
export interface RefusedClaim {
  readonly kind: 'path' | 'grpc-service';
  readonly keys: readonly string[];
  readonly owner: string;
  readonly refused: string;
}

export interface ResolvedGateway {
  readonly settings: GatewaySettings;
  /** Request headers only ext-authz may set: the configured ones and those its instances announce. */
  readonly identityHeaders: readonly string[];
  /** In route order: longer prefixes first. */
  readonly paths: readonly GatewayPathRoute[];
  readonly transcoded: readonly TranscodedService[];
  /** Claims refused by the first-by-name rule, as operators see them (and in the notes). */
  readonly conflicts: readonly RefusedClaim[];
  /** Present when any service declares models. */
  readonly models?: ResolvedModelApi;
  /** Every cluster the gateway has, sorted by id: its routes' targets, the models', the infrastructure's. */
  readonly clusters: readonly Target[];
  /** The browser logins' token endpoints and secrets (SDS), by name, sorted. */
  readonly loginClusters: readonly LoginCluster[];
  readonly secrets: readonly SecretValue[];
  readonly notes: readonly string[];
}

function comparePaths(a: Claim<GatewayPathRoute>, b: Claim<GatewayPathRoute>): number {
  if (a.item.prefix.length !== b.item.prefix.length) return b.item.prefix.length - a.item.prefix.length;
  if (a.item.prefix !== b.item.prefix) return a.item.prefix < b.item.prefix ? -1 : 1;
  return a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : 0;
}

/** Whether a request path falls under a gateway path. */
function covers(path: { readonly prefix: string; readonly separated: boolean }, requestPath: string): boolean {
  if (!path.separated) return requestPath.startsWith(path.prefix);
  return requestPath === path.prefix || requestPath.startsWith(`${path.prefix}/`);
}

/** Whether a router route belongs under a gateway path (a regex path cannot be told: it does not). */
function under(m: RouteMatch | undefined, path: GatewayPath): boolean {
  if (m?.path?.kind === 'regex') return false;
  return m?.path === undefined || covers(path, m.path.value);
}

function identityHeaders(m: MeshReader, s: GatewaySettings): string[] {
  const names = new Set(s.identityHeaders);
  for (const i of s.authz ? (m.service(s.authz.service)?.instances ?? []) : []) {
    for (const h of (i.meta[IDENTITY_HEADERS_META] ?? '').split(',')) if (h.trim()) names.add(h.trim().toLowerCase());
  }
  return [...names].sort();
}

/** `firstPaths`: each routed service's first gateway path, whose policy and limits all of its methods get. */
function transcodedServices(m: MeshReader, chains: ReadonlyMap<string, Chain>, firstPaths: ReadonlyMap<string, GatewayPathRoute>, notes: string[], refused: RefusedClaim[]): TranscodedService[] {
  const claims: Array<Claim<TranscodedService>> = [];
  for (const descriptor of m.descriptors().values()) {
    const chain = chains.get(descriptor.service);
    const path = firstPaths.get(descriptor.service);
    const policy = servicePolicy(m, descriptor.service);
    if (!chain || !path || !policy.transcoding.enabled || policy.protocol !== 'grpc') continue;
    claims.push({
      owner: descriptor.service,
      keys: descriptor.grpcServices,
      item: {
        service: descriptor.service,
        descriptor,
        transcoding: policy.transcoding,
        route: chain.fallback,
        authPolicy: path.authPolicy,
        rateLimits: path.rateLimits,
        ...(path.admission ? { admission: path.admission } : {}),
        maxRequestBytes: chain.fallback.policy.maxRequestBytes ?? DEFAULT_TRANSCODED_MAX_REQUEST_BYTES,
      },
    });
  }
  const { granted, conflicts } = decideClaims(claims);
  for (const c of conflicts) {
    notes.push(`${c.keys.join(', ')} is served by ${c.winner} and ${c.loser}; ${c.winner} gets it`);
    refused.push({ kind: 'grpc-service', keys: c.keys, owner: c.winner, refused: c.loser });
  }
  return granted.map((c) => c.item);
}

/**
 * A service's gateway paths, each with its policy, limits and the chain routes under it: the
 * same objects while the service and its chain are unchanged (translation caches by them).
 */
function servicePaths(m: MeshReader, s: GatewaySettings, service: string, kind: string): readonly GatewayPathRoute[] {
  return m.memo(kind, service, () => {
    const chain = chainOf(m, service);
    return (m.service(service)?.settings.gatewayPaths ?? []).map((path): GatewayPathRoute => {
      const routes: PathRoute[] = [];
      chain.routes.forEach((route, index) => {
        if (under(route.match, path)) routes.push({ index, route });
      });
      routes.push({ route: chain.fallback });
      const login = m.service(service)?.settings.login;
      const authPolicy = authPolicyOf(s, path);
      const rateLimits = rateLimitsOf(s, path);
      const admission = pathAdmission(servicePolicy(m, service), authPolicy, rateLimits);
      return {
        prefix: path.prefix,
        separated: path.separated,
        service,
        authPolicy,
        rateLimits,
        ...(admission ? { admission } : {}),
        routes,
        ...(login !== undefined ? { login: pathLogin(m, login) } : {}),
      };
    });
  });
}

/** An infrastructure service's one target: all its instances, no subsets, its filter's policy. */
function infrastructureTarget(m: MeshReader, infra: Infrastructure): Target {
  return m.memo('infrastructure-target', pieceName(infra.service, infra), () => ({
    id: infra.service,
    service: infra.service,
    subset: undefined,
    endpoints: serviceEndpoints(m, infra.service),
    failover: [],
    policy: servicePolicy(m, infra.service, infra),
  }));
}

/**
 * A path's gate before its checks: its service's admission policy, where the path asks ext-authz
 * (a policy other than none) or the rate-limit service. A path with neither has nothing to spare:
 * the router's own refusal past the service's bounds costs what the gate's would.
 */
function pathAdmission(policy: ServicePolicy, authPolicy: string | undefined, rateLimits: readonly RateLimitDescriptor[]): AdmissionPolicy | undefined {
  const checked = (authPolicy !== undefined && authPolicy !== 'none') || rateLimits.length > 0;
  return checked ? policy.admission : undefined;
}

const authPolicyOf = (s: GatewaySettings, p: GatewayPath | undefined): string | undefined => (s.authz ? (p?.authPolicy ?? s.authz.defaultPolicy) : undefined);
const rateLimitsOf = (s: GatewaySettings, p: GatewayPath | undefined): readonly RateLimitDescriptor[] => (s.ratelimit ? (p?.rateLimits ?? []) : []);

/** Whole-mesh: resolved anew on every change (its pieces — chains, paths, targets — are reused). */
export function resolveGateway(m: MeshReader, s: GatewaySettings, infrastructure: ReadonlyMap<string, Infrastructure>, settingsKey: string): ResolvedGateway {
  const notes: string[] = [];
  const chains = new Map<string, Chain>();
  const targets = new Map<string, Target>();
  const claims: Array<Claim<GatewayPathRoute>> = [];
  const firstPaths = new Map<string, GatewayPathRoute>();
  const pathsKind = `gateway-paths\u0000${settingsKey}`;
  for (const service of m.services().values()) {
    if (infrastructure.has(service.name) || service.settings.gatewayPaths.length === 0) continue;
    const chain = chainOf(m, service.name);
    chains.set(service.name, chain);
    notes.push(...chain.notes);
    for (const t of chain.targets) targets.set(t.id, t);
    const paths = servicePaths(m, s, service.name, pathsKind);
    firstPaths.set(service.name, paths[0]!);
    for (const p of paths) claims.push({ owner: service.name, keys: [`${p.separated ? 'sep' : 'prefix'}:${p.prefix}`], item: p });
  }
  claims.sort(comparePaths);
  const { granted, conflicts } = decideClaims(claims);
  const paths = granted.map((g) => g.item);

  // The model API: whoever may call the gateway path a model API path lies under (the same
  // policy, the same request-count limits) may call it through the model routes, or list the models.
  const apiPath = (requestPath: string): ModelApiPath => {
    const owner = paths.find((p) => covers(p, requestPath));
    return { path: requestPath, authPolicy: owner ? owner.authPolicy : authPolicyOf(s, undefined), rateLimits: owner ? owner.rateLimits : [] };
  };
  const internal = new Set(infrastructure.keys());
  const catalog = modelCatalog(m, internal);
  const limits = modelLimitsOf(s);
  const llm = s.llm && infrastructure.get(s.llm.service);
  const routing = llm && catalog ? modelRouting(m, catalog, !!(limits?.tokenBudgets.length || limits?.costBudgets.length), () => infrastructureTarget(m, llm)) : undefined;
  for (const model of routing?.models ?? []) {
    targets.set(model.target.id, model.target);
    if (model.door) targets.set(model.door.id, model.door);
  }
  if (routing) notes.push(...routing.notes);
  // A model without a price costs nothing under cost budgets: said, so that it is not a surprise.
  if (limits?.costBudgets.length) for (const model of routing?.models ?? []) if (!model.price) notes.push(`model ${model.id} has no Price: its calls are not charged to cost budgets`);
  const models: ResolvedModelApi | undefined = catalog && {
    catalog,
    list: apiPath(MODELS_PATH),
    ...(routing ? { routing } : {}),
    entries: routing ? LLM_PATHS.map(apiPath) : [],
    maxRequestBytes: s.llm?.maxRequestBytes ?? 0,
    limits,
  };

  for (const infra of infrastructure.values()) targets.set(infra.service, infrastructureTarget(m, infra));
  const refused: RefusedClaim[] = [];
  const transcoded = transcodedServices(m, chains, firstPaths, notes, refused);
  for (const c of conflicts) {
    notes.push(`path ${c.item.prefix} is claimed by ${c.winner} and ${c.loser}; ${c.winner} gets it`);
    refused.push({ kind: 'path', keys: [c.item.prefix], owner: c.winner, refused: c.loser });
  }
  const loginClusters = new Map<string, LoginCluster>();
  const secrets = new Map<string, SecretValue>();
  for (const p of paths) {
    if (p.login?.kind !== 'login') continue;
    loginClusters.set(p.login.login.tokenEndpoint.cluster.name, p.login.login.tokenEndpoint.cluster);
    for (const secret of p.login.login.secrets) secrets.set(secret.name, secret);
  }
  const byName = <T extends { readonly name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return {
    settings: s,
    identityHeaders: identityHeaders(m, s),
    paths,
    transcoded,
    conflicts: refused,
    ...(models ? { models } : {}),
    clusters: [...targets.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    loginClusters: [...loginClusters.values()].sort(byName),
    secrets: [...secrets.values()].sort(byName),
    notes: [...new Set(notes)],
  };
}

