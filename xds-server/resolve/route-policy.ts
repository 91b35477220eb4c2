// A route's settings: what its service-router destination says, else what the service it sends
// to (the first target's) says — decided by the precedence table, once per route.
import { durationMs } from '../../shared/validate/duration.js';
import type { RouterDestination } from '../model/config-entries/schema.js';
import { DEFAULT_RETRIES } from './defaults.js';
import type { RetryPolicy, RoutePolicy, ServicePolicy } from './policy-types.js';
import { decide } from './precedence.js';

/** A destination's retry settings; undefined when it sets none (the default applies). */
function destinationRetries(d: RouterDestination | undefined): RetryPolicy | undefined {
  if (!d || (d.NumRetries === undefined && !d.RetryOn?.length && !d.RetryOnConnectFailure && !d.RetryOnStatusCodes?.length)) return undefined;
  const on = new Set<string>(d.RetryOn ?? []);
  if (d.RetryOnConnectFailure) on.add('connect-failure');
  if (d.RetryOnStatusCodes?.length) on.add('retriable-status-codes');
  return {
    retryOn: on.size ? [...on] : ['connect-failure'],
    numRetries: d.NumRetries ?? 1,
    ...(d.RetryOnStatusCodes?.length ? { statusCodes: d.RetryOnStatusCodes } : {}),
    ...(d.PerTryTimeout ? { perTryTimeoutMs: durationMs(d.PerTryTimeout) } : {}),
    ...(d.RetryBackOff
      ? { backOff: { baseMs: durationMs(d.RetryBackOff.BaseInterval), ...(d.RetryBackOff.MaxInterval ? { maxMs: durationMs(d.RetryBackOff.MaxInterval) } : {}) } }
      : {}),
  };
}

export function resolveRoutePolicy(target: ServicePolicy, destination: RouterDestination | undefined): RoutePolicy {
  // Below the route, the service's own decision (resolver > service-defaults > meta > default).
  const timeout = decide('requestTimeout', { route: destination?.RequestTimeout ? durationMs(destination.RequestTimeout) : undefined, default: target.requestTimeoutMs });
  const retries = decide('retries', { route: destinationRetries(destination), default: DEFAULT_RETRIES });
  return {
    timeoutMs: timeout.value,
    retries: retries.value,
    ...(destination?.PrefixRewrite ? { prefixRewrite: destination.PrefixRewrite } : {}),
    hashPolicies: target.hashPolicies,
    maxRequestBytes: target.maxRequestBytes,
    decidedBy: { requestTimeout: timeout.from === 'route' ? 'route' : (target.decidedBy.requestTimeout ?? 'default'), retries: retries.from, hashPolicies: target.decidedBy.hashPolicies ?? 'default' },
  };
}
