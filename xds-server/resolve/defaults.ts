// meshgate's defaults: what an upstream gets when no entry and no meta says otherwise.
import type { Protocol } from '../model/mesh.js';
import type { LoadBalancer, RetryBudget, RetryPolicy } from './policy-types.js';

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

/** RFC 9110 §9.2.2: a request with one of these methods may be repeated. */
export const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'] as const;
