// The resolved mesh: a value, the one input of translation. For every role and every upstream
// it reaches, each setting decided once — with the layer that decided it (decidedBy) — the
// discovery chains, the gateway's route table with its owners and refused conflicts, the
// transcoded services, the model catalog and routing, the infrastructure, normalised matches,
// durations in milliseconds, and the endpoints each target sends to. Built incrementally
// (mesh-resolver.ts): what did not change is the same object as in the last resolve.
import type { Chain } from './chain.js';
import type { ResolvedGateway } from './gateway.js';
import type { Infrastructure } from './infrastructure.js';
import type { ServicePolicy } from './policy-types.js';
import type { ResolvedProxyless, ResolvedSidecar } from './sidecar.js';
import type { WantedDescriptors } from '../model/mesh.js';

export interface ResolvedService {
  readonly name: string;
  /** How everyone calls it (an infrastructure service: as the gateway's filters do). */
  readonly policy: ServicePolicy;
  /** Its discovery chain. */
  readonly chain: Chain;
}

export interface ResolvedMesh {
  /** The mesh state's revision this was resolved from. */
  readonly revision: number;
  readonly infrastructure: readonly Infrastructure[];
  /** Every service in the catalog, by name, sorted (empty in the controller's own resolves: only operators read it). */
  readonly services: ReadonlyMap<string, ResolvedService>;
  /** Resolved when a gateway reads it (always for operators' dumps). */
  readonly gateway?: ResolvedGateway;
  /** The sidecar views asked for (every catalog service's for operators' dumps), by service. */
  readonly sidecars: ReadonlyMap<string, ResolvedSidecar>;
  /** Resolved when a proxyless client reads it. */
  readonly proxyless?: ResolvedProxyless;
  /** What the descriptor fetcher should fetch (it hands descriptors back as a source). */
  readonly descriptors: WantedDescriptors;
  /** The OpenID providers whose discovery documents the browser logins need (fetched as a source too). */
  readonly loginIssuers: readonly string[];
}

export type { Chain, ChainRoute, Action, Target, FailoverTarget } from './chain.js';
export type { Endpoint } from './endpoints.js';
export type { GatewayPathRoute, ModelApiPath, PathRoute, ResolvedGateway, ResolvedModelApi } from './gateway.js';
export type { AuthzSettings, GatewaySettings, LlmSettings, ModelLimits, RatelimitSettings } from './gateway-settings.js';
export type { Infrastructure } from './infrastructure.js';
export type { LoginCluster, PathLogin, ResolvedLogin } from './login.js';
export type { CatalogModel, ModelAlias, ModelRouting, RoutedModel } from './models.js';
export type { ResolvedProxyless, ResolvedSidecar } from './sidecar.js';
export type { TranscodedService } from './transcoded.js';
export type { HeaderCondition, PathMatch, QueryCondition, RouteMatch, StringMatch } from './route-match.js';
// The model's vocabulary that resolved values carry as they are (translate/ reads it from here).
export type { Protocol, RateLimitDescriptor, RateLimitEntry, SecretValue, ServiceDescriptor, TranscodedMethod } from '../model/mesh.js';
