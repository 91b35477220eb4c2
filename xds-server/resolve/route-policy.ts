// A route's settings: what its service-router destination says, else what the service it sends
// to (the first target's) says — decided by the precedence table, once per route.
import { durationMs } from '../../shared/validate/duration.js';
import type { RouterDestination } from '../model/config-entries/schema.js';
import { DEFAULT_RETRIES } from './defaults.js';
import type { RetryPolicy, RoutePolicy, ServicePolicy } from './policy-types.js';
import { decide } from './precedence.js';

/**
 * A destination's retry settings, merged into the defaults: its conditions are added to the
 * default ones (a route that retries 503 still retries a failed connection, and an idempotent
 * method still a reset), and what it does not say (the count) stays the default's. Undefined
 * when it sets none (the default applies as it is).
 */
function destinationRetries(d: RouterDestination | undefined): RetryPolicy | undefined {
  if (!d || (d.NumRetries === undefined && !d.RetryOn?.length && !d.RetryOnConnectFailure && !d.RetryOnStatusCodes?.length)) return undefined;
  const on = new Set<string>([...DEFAULT_RETRIES.retryOn, ...(d.RetryOn ?? [])]);
  if (d.RetryOnStatusCodes?.length) on.add('retriable-status-codes');
  const idempotentOn = (DEFAULT_RETRIES.idempotentRetryOn ?? []).filter((c) => !on.has(c));
  return {
    retryOn: [...on],
    ...(idempotentOn.length ? { idempotentRetryOn: idempotentOn } : {}),
    numRetries: d.NumRetries ?? DEFAULT_RETRIES.numRetries,
    ...(d.RetryOnStatusCodes?.length ? { statusCodes: d.RetryOnStatusCodes } : {}),
    ...(d.PerTryTimeout ? { perTryTimeoutMs: durationMs(d.PerTryTimeout) } : {}),
    ...(d.RetryBackOff
      ? { backOff: { baseMs: durationMs(d.RetryBackOff.BaseInterval), ...(d.RetryBackOff.MaxInterval ? { maxMs: durationMs(d.RetryBackOff.MaxInterval) } : {}) } }
      : {}),
  };
}

export function resolveRoutePolicy(target: ServicePolicy, destination: RouterDestination | undefined): RoutePolicy {
  // Below the route, the service's own decision (resolver > service-defaults > meta > default).
  // An infrastructure service's timeout is its filter's, whatever a route says.
  const timeout = decide('requestTimeout', {
    infrastructure: target.decidedBy.requestTimeout === 'infrastructure' ? target.requestTimeoutMs : undefined,
    route: destination?.RequestTimeout ? durationMs(destination.RequestTimeout) : undefined,
    default: target.requestTimeoutMs,
  });
  const retries = decide('retries', { route: destinationRetries(destination), default: DEFAULT_RETRIES });
  return {
    timeoutMs: timeout.value,
    retries: retries.value,
    ...(destination?.PrefixRewrite ? { prefixRewrite: destination.PrefixRewrite } : {}),
    hashPolicies: target.hashPolicies,
    maxRequestBytes: target.maxRequestBytes,
    decidedBy: { requestTimeout: timeout.from === 'default' ? (target.decidedBy.requestTimeout ?? 'default') : timeout.from, retries: retries.from, hashPolicies: target.decidedBy.hashPolicies ?? 'default' },
  };
}
