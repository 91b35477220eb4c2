// The resolved model's settings: every value decided (resolve/precedence.ts), in meshgate's
// units (milliseconds, counts), ready for translate/ to spell in Envoy's terms.
import type { Protocol } from '../model/mesh.js';
import type { Layer, Setting } from './precedence.js';

export interface LoadBalancer {
  readonly policy: 'round_robin' | 'least_request' | 'ring_hash' | 'maglev' | 'random';
  readonly choiceCount?: number;
  readonly minimumRingSize?: number;
  readonly maximumRingSize?: number;
}

export type HashPolicy =
  | { readonly kind: 'source_ip'; readonly terminal: boolean }
  | { readonly kind: 'header'; readonly name: string; readonly terminal: boolean }
  | { readonly kind: 'query_parameter'; readonly name: string; readonly terminal: boolean }
  | { readonly kind: 'cookie'; readonly name: string; readonly ttlMs?: number; readonly path?: string; readonly terminal: boolean };

export interface RetryBudget {
  readonly percent: number;
  readonly minConcurrency?: number;
}

/** Envoy's circuit-breaker thresholds; an absent one is Envoy's default. */
export interface CircuitBreakers {
  readonly maxConnections?: number;
  readonly maxPendingRequests?: number;
  readonly maxRequests?: number;
  /** An explicit count replaces the retry budget (Envoy ignores max_retries under a budget). */
  readonly maxRetries?: number;
  readonly retryBudget?: RetryBudget;
}

export interface OutlierDetection {
  readonly consecutive5xx: number;
  readonly intervalMs?: number;
  readonly baseEjectionTimeMs?: number;
  readonly maxEjectionPercent?: number;
  readonly enforcingConsecutive5xx: number;
  /** When set, connection failures (refused, reset, timed out) count apart from the answers'
   * 5xx, and this many in a row eject the instance. */
  readonly localOriginFailures?: number;
}

export interface HealthCheck {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
}

export interface RetryPolicy {
  readonly retryOn: readonly string[];
  /** Further conditions for idempotent methods only (a reset after the request was sent). */
  readonly idempotentRetryOn?: readonly string[];
  readonly numRetries: number;
  readonly statusCodes?: readonly number[];
  readonly perTryTimeoutMs?: number;
  readonly backOff?: { readonly baseMs: number; readonly maxMs?: number };
}

/** The CORS policy gRPC-Web callers in browsers need. */
export interface GrpcWebPolicy {
  readonly allowOrigins: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly maxAgeSeconds: number;
  readonly allowCredentials: boolean;
}

/** A gRPC service's methods as JSON over HTTP at the gateway. */
export interface TranscodingPolicy {
  readonly enabled: boolean;
  /** How server-streaming answers are framed. */
  readonly streams: 'ndjson' | 'sse';
  /** gRPC-Web with this CORS policy; absent: off. */
  readonly grpcWeb?: GrpcWebPolicy;
}

/**
 * The gate before a gateway route's checks (Envoy's admission_control, one state per route):
 * over the last `windowSeconds`, a route whose calls were refused for load (503) more often than
 * `successRatePercent` allows refuses a share of its next calls before ext-authz or the
 * rate-limit service is asked — ((n − s / rate) / (n + 1)) ^ (1 / aggression), at most
 * `maxRejectionPercent` — and never below `minRequestsPerSecond`.
 */
export interface AdmissionPolicy {
  readonly successRatePercent: number;
  readonly windowSeconds: number;
  readonly aggression: number;
  readonly maxRejectionPercent: number;
  readonly minRequestsPerSecond: number;
}

/** Everything about calling one service, whoever calls it (gateway, sidecar, proxyless). */
export interface ServicePolicy {
  readonly service: string;
  readonly protocol: Protocol;
  readonly connectTimeoutMs: number;
  /** For routes whose destination sets none. */
  readonly requestTimeoutMs: number;
  readonly loadBalancer: LoadBalancer;
  readonly hashPolicies: readonly HashPolicy[];
  readonly circuitBreakers: CircuitBreakers;
  readonly outlierDetection?: OutlierDetection;
  readonly healthCheck?: HealthCheck;
  /** The services this service's own sidecar may call. */
  readonly upstreams: readonly string[];
  /** The largest request body the gateway takes (undefined: no limit of the gateway's). */
  readonly maxRequestBytes: number | undefined;
  /** The gate before the gateway's checks on its paths (undefined: off). */
  readonly admission: AdmissionPolicy | undefined;
  readonly transcoding: TranscodingPolicy;
  /** Which layer decided each setting (for operators, and the precedence tests). */
  readonly decidedBy: Readonly<Partial<Record<Setting, Layer>>>;
}

/** A route's own settings: its destination's, or its target service's. */
export interface RoutePolicy {
  readonly timeoutMs: number;
  readonly retries: RetryPolicy;
  readonly prefixRewrite?: string;
  readonly hashPolicies: readonly HashPolicy[];
  readonly maxRequestBytes: number | undefined;
  readonly decidedBy: Readonly<Partial<Record<Setting, Layer>>>;
}
