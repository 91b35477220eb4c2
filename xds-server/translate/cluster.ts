// A target (a service, or one subset of it) → one Envoy cluster whose endpoints arrive over EDS
// on the ADS stream, with the target service's traffic policy: protocol, connect timeout and
// load balancer (service-resolver), circuit breakers, retry budget, outlier detection and active
// health checks (service-defaults). Without entries, what the service's meta says.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { MeshState, Protocol } from '../model/mesh.js';
import type { ServiceDefaultsEntry } from '../model/config-entries/schema.js';
import type { Target } from './chain.js';
import { durationOf, ms, protoDuration } from './duration.js';
import { ADS_SOURCE } from './resource-set.js';

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export function protocolOf(state: MeshState, service: string): Protocol {
  return state.entries.defaults.get(service)?.Protocol ?? state.services.get(service)?.settings.protocol ?? 'http';
}

function connectTimeoutMs(state: MeshState, service: string): number {
  const resolver = state.entries.resolvers.get(service);
  if (resolver?.ConnectTimeout) return Math.max(1, ms(resolver.ConnectTimeout));
  return state.entries.defaults.get(service)?.ConnectTimeoutMs ?? state.services.get(service)?.settings.connectTimeoutMs ?? 1_000;
}

const LB_POLICY = { round_robin: 'ROUND_ROBIN', least_request: 'LEAST_REQUEST', ring_hash: 'RING_HASH', maglev: 'MAGLEV', random: 'RANDOM' } as const;

function loadBalancer(state: MeshState, service: string): JsonObject {
  const lb = state.entries.resolvers.get(service)?.LoadBalancer;
  const out: JsonObject = { lb_policy: LB_POLICY[lb?.Policy ?? 'round_robin'] };
  if (lb?.Policy === 'least_request' && lb.LeastRequestConfig) out['least_request_lb_config'] = { choice_count: lb.LeastRequestConfig.ChoiceCount };
  if (lb?.Policy === 'ring_hash' && lb.RingHashConfig) {
    out['ring_hash_lb_config'] = {
      ...(lb.RingHashConfig.MinimumRingSize ? { minimum_ring_size: lb.RingHashConfig.MinimumRingSize } : {}),
      ...(lb.RingHashConfig.MaximumRingSize ? { maximum_ring_size: lb.RingHashConfig.MaximumRingSize } : {}),
    };
  }
  return out;
}

/**
 * Retries may use up to 20% of a cluster's active requests (and at least 10 at a time) unless
 * service-defaults says otherwise. Envoy's own default, 3 concurrent retries per cluster, lets
 * a failing instance show through at any real concurrency; a budget grows with the traffic and
 * still stops a retry storm.
 */
export const DEFAULT_RETRY_BUDGET = { BudgetPercent: 20, MinRetryConcurrency: 10 } as const;

function circuitBreakers(d: ServiceDefaultsEntry | undefined): JsonObject {
  const t: JsonObject = {};
  if (d?.Limits?.MaxConnections !== undefined) t['max_connections'] = d.Limits.MaxConnections;
  if (d?.Limits?.MaxPendingRequests !== undefined) t['max_pending_requests'] = d.Limits.MaxPendingRequests;
  if (d?.Limits?.MaxConcurrentRequests !== undefined) t['max_requests'] = d.Limits.MaxConcurrentRequests;
  if (d?.Limits?.MaxRetries !== undefined) t['max_retries'] = d.Limits.MaxRetries;
  // An explicit MaxRetries replaces the budget (Envoy ignores max_retries under a budget).
  const budget = d?.RetryBudget ?? (d?.Limits?.MaxRetries === undefined ? DEFAULT_RETRY_BUDGET : undefined);
  if (budget) {
    t['retry_budget'] = {
      budget_percent: { value: budget.BudgetPercent },
      ...(budget.MinRetryConcurrency !== undefined ? { min_retry_concurrency: budget.MinRetryConcurrency } : {}),
    };
  }
  return { circuit_breakers: { thresholds: [t] } };
}

function trafficPolicy(state: MeshState, service: string): JsonObject {
  const d = state.entries.defaults.get(service);
  const out: JsonObject = circuitBreakers(d);
  if (!d) return out;
  const p = d.PassiveHealthCheck;
  if (p) {
    out['outlier_detection'] = {
      consecutive_5xx: p.MaxFailures ?? 5,
      ...(p.Interval ? { interval: protoDuration(p.Interval) } : {}),
      ...(p.BaseEjectionTime ? { base_ejection_time: protoDuration(p.BaseEjectionTime) } : {}),
      ...(p.MaxEjectionPercent !== undefined ? { max_ejection_percent: p.MaxEjectionPercent } : {}),
      enforcing_consecutive_5xx: p.EnforcingConsecutive5xx ?? 100,
      // Only consecutive 5xx ejects: gateway failures are counted by that already.
      enforcing_success_rate: 0,
    };
  }
  const a = d.ActiveHealthCheck;
  if (a) {
    out['health_checks'] = [
      {
        timeout: protoDuration(a.Timeout),
        interval: protoDuration(a.Interval),
        unhealthy_threshold: a.UnhealthyThreshold,
        healthy_threshold: a.HealthyThreshold,
        http_health_check: { path: a.Path },
      },
    ];
  }
  return out;
}

export function targetCluster(state: MeshState, target: Target): JsonObject {
  const cluster: JsonObject = {
    name: target.id,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_SOURCE, service_name: target.id },
    connect_timeout: durationOf(connectTimeoutMs(state, target.service)),
    ...loadBalancer(state, target.service),
    // Consul's health is authoritative: never spread load onto instances it marked critical,
    // which Envoy's default panic mode (below 50% healthy) would do.
    common_lb_config: { healthy_panic_threshold: { value: 0 } },
    ...trafficPolicy(state, target.service),
  };
  if (protocolOf(state, target.service) !== 'http') {
    cluster['typed_extension_protocol_options'] = {
      [HTTP_PROTOCOL_OPTIONS]: {
        '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`,
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  }
  return cluster;
}
