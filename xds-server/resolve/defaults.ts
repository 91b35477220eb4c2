// meshgate's defaults: what an upstream gets when no entry and no meta says otherwise.
import type { Protocol } from '../model/mesh.js';
import type { AdmissionPolicy, CircuitBreakers, LoadBalancer, OutlierDetection, RetryBudget, RetryPolicy } from './policy-types.js';

export const DEFAULT_PROTOCOL: Protocol = 'http';
export const DEFAULT_CONNECT_TIMEOUT_MS = 1_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_LOAD_BALANCER: LoadBalancer = { policy: 'round_robin' };

/**
 * Retries may use up to 20% of a cluster's active requests (and at least 10 at a time) unless
 * service-defaults says otherwise. Envoy's own default, 3 concurrent retries per cluster, lets
 * a failing instance show through at any real concurrency; a budget grows with the traffic and
 * still stops a retry storm.
 */
export const DEFAULT_RETRY_BUDGET: RetryBudget = { percent: 20, minConcurrency: 10 };

/**
 * Without retry settings: retry on another instance what never reached the service (safe for
 * every method), and, for idempotent methods, also a request the instance reset before it
 * answered — an instance that dies mid-request (SIGKILL, OOM, a node lost) fails only the
 * requests that cannot be repeated safely.
 */
export const DEFAULT_RETRIES: RetryPolicy = {
  retryOn: ['connect-failure', 'refused-stream'],
  idempotentRetryOn: ['reset'],
  numRetries: 2,
};

/**
 * Without PassiveHealthCheck: an instance that fails 3 connections in a row (it refuses them,
 * resets them or lets them time out) is ejected for a while; its 5xx answers eject nothing (a
 * model service may answer 5xx to some inputs and be fine). Retries alone do not keep callers
 * away from such an instance: Envoy's retry can land on it again.
 */
export const DEFAULT_OUTLIER_DETECTION: OutlierDetection = { consecutive5xx: 5, enforcingConsecutive5xx: 0, localOriginFailures: 3, maxEjectionPercent: 50 };

/** RFC 9110 §9.2.2: a request with one of these methods may be repeated. */
export const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'] as const;

/** Server-streaming answers of transcoded methods: one JSON object per line. */
export const DEFAULT_TRANSCODED_STREAMS = 'ndjson' as const;
/** How long a browser may keep a gRPC-Web preflight's answer. */
export const DEFAULT_GRPC_WEB_MAX_AGE_SECONDS = 600;
/** The largest JSON body the transcoder takes when the service sets none (gRPC's own default message limit). */
export const DEFAULT_TRANSCODED_MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/**
 * The largest body an HTTP/1.1 service's calls carry through the gateway by default
 * (service-defaults `MaxRequestBytes`; 0: no bound, bodies streamed): nginx's and ingress-nginx's
 * default, and no more than Envoy holds per connection by its own default buffer limit, so a
 * crowd of slow senders cannot fill the heap faster than before. The gateway reads such a body
 * whole before it routes the call. A call refused past the service's bounds is then answered on a
 * connection the caller keeps; refused before its body was read, it ends the connection (Envoy
 * cannot tell the unread body from a next request), and under overload every refused caller
 * reconnects: on one core the plain route kept 9–15% of its capacity at 5× without the bound,
 * 24–46% with it (bench/RESULTS.md). Services speaking HTTP/2 or gRPC stream.
 */
export const DEFAULT_HTTP_MAX_REQUEST_BYTES = 1024 * 1024;

/**
 * The gate before a gateway route's checks (service-defaults `Admission`), on by default where a
 * route asks ext-authz or the rate-limit service: a call refused past a service's bounds costs
 * that check first, so at twice a service's capacity half of all checks were spent on calls
 * refused anyway; with the gate, the checked routes kept 87% and 94% of their capacity at 2× on
 * average over five runs, against 80% and 86% (bench/RESULTS.md, issue 21). Only refusals for load (503) count
 * against a route: a 4xx (a denied key, a caller over its rate limit) is the caller's, and must
 * not make the gate shed everyone else's calls. 90% over 5 s: a route served at its capacity
 * sees about a tenth of its calls refused in bursts, and at Envoy's suggested 95% the gate shed a
 * quarter of them (one run kept 69% at 1×); aggression 2 so that at 2× about 1.3× the capacity
 * is let through to the checks (1.0: 1.5×); up to 95% shed, so a flood of 20× still reaches the
 * service; never below 10 calls a second, where a few failures are not overload.
 */
export const DEFAULT_ADMISSION: AdmissionPolicy = { successRatePercent: 90, windowSeconds: 5, aggression: 2, maxRejectionPercent: 95, minRequestsPerSecond: 10 };

/**
 * What a caller of each kind of service may have in flight and waiting, when service-defaults'
 * Limits says nothing (each field on its own): past it, Envoy answers 503 JSON with Retry-After
 * at once (upstream_overloaded) instead of queueing. Envoy's own defaults (1,024 in flight and
 * 1,024 waiting per cluster) let a saturated service build a queue seconds long that every caller
 * waits through: at twice a node service's capacity, every call took 1–3 s and goodput fell to
 * a third (bench/overload.ts). The bounds, by kind:
 *   - a service (HTTP or gRPC): 256 in flight — a service answering in 50 ms still gets 5,000
 *     calls a second — and 64 waiting for a connection or a stream;
 *   - a model service (meta `models`): calls last seconds and a model server batches them, so
 *     1,024 in flight, but 64 waiting all the same;
 *   - a plug-in the gateway's filters call (ext-authz, rate limits, the processor, the access
 *     log): 4,096 streams (every call through the gateway is one) and 256 waiting; past them the
 *     filter's failure mode answers (503 for ext-authz and the processor, by --ratelimit-fail-closed
 *     for rate limits), and the plug-in itself refuses at once past its own bound
 *     (--h2-max-calls-in-flight).
 */
export type AdmissionKind = 'service' | 'model' | 'plugin';
export const DEFAULT_LIMITS: Readonly<Record<AdmissionKind, CircuitBreakers>> = {
  service: { maxConnections: 256, maxRequests: 256, maxPendingRequests: 64 },
  model: { maxConnections: 1_024, maxRequests: 1_024, maxPendingRequests: 64 },
  plugin: { maxConnections: 64, maxRequests: 4_096, maxPendingRequests: 256 },
};

/** Connections the kernel holds for the gateway's listener until Envoy accepts them (Linux caps it at net.core.somaxconn). A burst of new connections past the default 128 had their SYNs dropped: 1 s, then 3 s, before a caller was even heard. */
export const EDGE_LISTEN_BACKLOG = 4_096;
