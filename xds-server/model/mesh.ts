// The mesh as plain immutable data: what the sources know, in meshgate's own terms.
// Nothing here knows Consul's wire format or Envoy's resources.
import type { Dialect, ModelScheduling } from '../../shared/llm-gateway.js';
import type { BrowserLoginEntry, ModelRouteEntry, ServiceDefaultsEntry, ServiceResolverEntry, ServiceRouterEntry, ServiceSplitterEntry } from './config-entries/schema.js';

/** Envoy's meaning of an endpoint's health (Consul: passing, warning, critical/maintenance). */
export type HealthStatus = 'HEALTHY' | 'DEGRADED' | 'UNHEALTHY';

/** Whether an instance takes traffic: Consul says passing. The one definition, for resolve and every source. */
export function isHealthy(instance: { readonly health: HealthStatus }): boolean {
  return instance.health === 'HEALTHY';
}

/** The registries an instance can be learned from (sources/registry-merge.ts merges them). */
export const REGISTRIES = ['consul', 'zookeeper', 'eureka'] as const;
export type RegistryName = (typeof REGISTRIES)[number];

/** How the gateway talks to a service's instances. */
export type Protocol = 'http' | 'http2' | 'grpc';

export interface Instance {
  readonly id: string;
  readonly node: string;
  readonly address: string;
  readonly port: number;
  readonly health: HealthStatus;
  /** Locality zone, from the instance's meta `zone` (or the node's), '' when unknown. */
  readonly zone: string;
  /** Load-balancing weight, at least 1. */
  readonly weight: number;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  /** The port of the instance's sidecar (meta `sidecar-port`), when it has one. */
  readonly sidecarPort?: number;
  /** The registry it was learned from. */
  readonly registry: RegistryName;
}

/** Instance meta naming the port of the instance's sidecar, where callers reach it. */
export const SIDECAR_PORT_META = 'sidecar-port';

/** One entry of a rate-limit descriptor, and where Envoy takes its value from. */
export type RateLimitEntry =
  | { readonly kind: 'remote_address' }
  | { readonly kind: 'destination_cluster' }
  | { readonly kind: 'header'; readonly header: string; readonly key: string }
  | { readonly kind: 'generic'; readonly value: string; readonly key: string }
  /** A fact ext-authz established (subject, tenant, plan, scopes, key_id, credential, policy). */
  | { readonly kind: 'auth'; readonly field: string }
  /** The model the LLM processor routed the request to (model API routes only). */
  | { readonly kind: 'model' };

export interface RateLimitDescriptor {
  readonly entries: readonly RateLimitEntry[];
}

/** How a path prefix on the gateway is matched, who may use it, and how often. */
export interface GatewayPath {
  /** '/v1/' (ends in '/') is a plain prefix; '/test' also matches '/test' and '/test/…' only. */
  readonly prefix: string;
  readonly separated: boolean;
  /** The ext-authz policy for this path: a name, 'none' (public), or undefined (the default). */
  readonly authPolicy?: string;
  /** Descriptors sent to the rate-limit service for requests on this path. */
  readonly rateLimits?: readonly RateLimitDescriptor[];
}

/** A service's traffic settings, validated from its meta; absent: the meta says nothing
 * (resolve/ decides what applies then). */
export interface ServiceSettings {
  readonly protocol?: Protocol;
  readonly gatewayPaths: readonly GatewayPath[];
  /** Route timeout for a whole request, in milliseconds. */
  readonly requestTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** The services this service's sidecar may call (meta `upstreams`). */
  readonly upstreams?: readonly string[];
  /** The models it serves (meta `models`), for the gateway's model catalog. */
  readonly models?: readonly string[];
  /** The model API dialect it speaks (meta `model-dialect`): openai, anthropic. */
  readonly modelDialect?: Dialect;
  /** How its servers schedule waiting calls (meta `model-scheduling`): fcfs, or by each call's priority. */
  readonly modelScheduling?: ModelScheduling;
  /** Its model API calls are written to the LLM processor's request log (meta `request-log=on`). */
  readonly requestLog?: boolean;
  /** Its gRPC methods are served as JSON over HTTP at the gateway (meta `transcode`: on or off). */
  readonly transcode?: boolean;
  /** Its gateway paths are for browsers that log in first: the browser-login entry's name (meta `login`). */
  readonly login?: string;
}

export interface Service {
  readonly name: string;
  readonly settings: ServiceSettings;
  /** Sorted by id. Empty when every instance is gone but the service is still remembered. */
  readonly instances: readonly Instance[];
}

/** A problem an operator should see: what was refused, and why. */
export interface Problem {
  readonly subject: string;
  readonly reason: string;
  readonly since: string;
}

/** The config entries in force, by service name. */
export interface ConfigEntries {
  readonly defaults: ReadonlyMap<string, ServiceDefaultsEntry>;
  readonly routers: ReadonlyMap<string, ServiceRouterEntry>;
  readonly splitters: ReadonlyMap<string, ServiceSplitterEntry>;
  readonly resolvers: ReadonlyMap<string, ServiceResolverEntry>;
  /** By the model name callers send. */
  readonly modelRoutes: ReadonlyMap<string, ModelRouteEntry>;
  /** Browser logins, by name (a service's meta `login`). */
  readonly logins: ReadonlyMap<string, BrowserLoginEntry>;
}

export const NO_ENTRIES: ConfigEntries = Object.freeze({ defaults: new Map(), routers: new Map(), splitters: new Map(), resolvers: new Map(), modelRoutes: new Map(), logins: new Map() });

/**
 * A secret from the xds-server's --secrets-dir. Its value goes to Envoy over SDS and nowhere
 * else: printed, logged or dumped as JSON it is its name and size.
 */
export class SecretValue {
  readonly #value: string;
  constructor(
    readonly name: string,
    value: string,
  ) {
    this.#value = value;
  }
  /** The value, for the SDS resource alone. */
  reveal(): string {
    return this.#value;
  }
  get bytes(): number {
    return Buffer.byteLength(this.#value);
  }
  equals(other: SecretValue | undefined): boolean {
    return !!other && other.name === this.name && other.#value === this.#value;
  }
  toJSON(): { name: string; bytes: number } {
    return { name: this.name, bytes: this.bytes };
  }
  toString(): string {
    return `[secret ${this.name}]`;
  }
}

/** What an OpenID provider's discovery document says, as a browser login needs it. */
export interface LoginProvider {
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly endSessionEndpoint?: string;
  readonly jwksUri?: string;
  readonly fetchedAt: string;
}

/** A gRPC method the gateway transcodes, and the HTTP bindings of its google.api.http annotation. */
export interface TranscodedMethod {
  /** "pkg.Service" */
  readonly service: string;
  readonly method: string;
  readonly clientStreaming: boolean;
  readonly serverStreaming: boolean;
  readonly bindings: ReadonlyArray<{ readonly verb: string; readonly template: string }>;
}

/** A transcoded service's protobuf descriptors (transcoding/service-descriptor.ts builds them). */
export interface ServiceDescriptor {
  /** The Consul service. */
  readonly service: string;
  /** Where it came from: "reflection …" or "consul kv …". */
  readonly source: string;
  readonly loadedAt: string;
  /** The gRPC services transcoded ("pkg.Service"). */
  readonly grpcServices: readonly string[];
  /** The files of the set, each after those it imports. */
  readonly files: readonly string[];
  readonly methods: readonly TranscodedMethod[];
  /** The FileDescriptorSet, base64 (the transcoder's proto_descriptor_bin), encoded once. */
  readonly base64: string;
  readonly digest: string;
  /** Every path the service answers (gRPC paths and REST bindings), as one anchored RE2 regex. */
  readonly pathRegex: string;
}

export interface MeshState {
  /** Increases with every change. */
  readonly revision: number;
  /** Sorted by name. */
  readonly services: ReadonlyMap<string, Service>;
  readonly entries: ConfigEntries;
  /** The descriptors in force for transcoded services, by service name. */
  readonly descriptors: ReadonlyMap<string, ServiceDescriptor>;
  /** The secrets in --secrets-dir, by name. */
  readonly secrets: ReadonlyMap<string, SecretValue>;
  /** The OpenID providers browser logins use, by issuer, as their discovery documents said. */
  readonly loginProviders: ReadonlyMap<string, LoginProvider>;
  readonly problems: readonly Problem[];
}

export const EMPTY_MESH: MeshState = Object.freeze({
  revision: 0,
  services: new Map<string, Service>(),
  entries: NO_ENTRIES,
  descriptors: new Map<string, ServiceDescriptor>(),
  secrets: new Map<string, SecretValue>(),
  loginProviders: new Map<string, LoginProvider>(),
  problems: Object.freeze([]) as readonly Problem[],
});

/** A service whose descriptors the resolved mesh wants, and whom reflection may ask. */
export interface WantedDescriptor {
  readonly service: string;
  /** Its healthy instances, each at its own port (reflection asks the app, not its sidecar). */
  readonly instances: ReadonlyArray<{ readonly id: string; readonly address: string; readonly port: number }>;
  /** Changes whenever its healthy instances or their registration do: then it is asked again. */
  readonly key: string;
}

/** What resolve asks of the descriptor source: the services to fetch, and those refused (transcoding on, not gRPC) with why. */
export interface WantedDescriptors {
  readonly wanted: readonly WantedDescriptor[];
  readonly refused: ReadonlyArray<{ readonly service: string; readonly reason: string }>;
}

/** How the descriptor source hands what it has to the mesh (the mesh store is one). */
export interface DescriptorSink {
  /** A transcoded service's descriptor, now in force. */
  setDescriptor(descriptor: ServiceDescriptor): void;
  /** A service's newest descriptor was refused, or could not be had: the last good one stays. */
  refuseDescriptor(service: string, reason: string): void;
  /** The service is no longer transcoded (or gone): its descriptor and problem go. */
  dropDescriptor(service: string): void;
  /** A source that must answer once before the mesh counts as synced. */
  expectSource(name: string): void;
  markSynced(source: string): void;
}

/** How the secrets directory and the OpenID discovery source hand what they read to the mesh (the mesh store is one). */
export interface LoginSink {
  /** Every secret the directory holds now; `problem`: why some (or all) could not be read (the last good values stay). */
  setSecrets(secrets: ReadonlyMap<string, SecretValue>, problem: string | undefined): void;
  setLoginProvider(provider: LoginProvider): void;
  /** The provider's discovery failed: its last good document, if any, stays. */
  refuseLoginProvider(issuer: string, reason: string): void;
  /** No login uses the issuer any more. */
  dropLoginProvider(issuer: string): void;
  expectSource(name: string): void;
  markSynced(source: string): void;
}
