// A target (a service, or one subset of it) → one Envoy cluster whose endpoints arrive over EDS
// on the ADS stream, spelling the target service's resolved policy: protocol, connect timeout,
// load balancer, circuit breakers and retry budget, outlier detection, active health checks.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { CircuitBreakers, LoadBalancer, ServicePolicy } from '../resolve/policy-types.js';
import type { Protocol, Target } from '../resolve/resolved-mesh.js';
import { durationOf } from './duration.js';
import { ADS_SOURCE } from './resource-set.js';

/** The extension-protocol-options key of an upstream's HTTP settings (its protocol, its upstream filters). */
export const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** HTTP/2 to the upstream for http2 and gRPC services; nothing for HTTP/1.1 (Envoy's default). */
export function upstreamProtocolOptions(protocol: Protocol): JsonObject {
  if (protocol === 'http') return {};
  return {
    typed_extension_protocol_options: {
      [HTTP_PROTOCOL_OPTIONS]: { '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`, explicit_http_config: { http2_protocol_options: {} } },
    },
  };
}

const LB_POLICY = { round_robin: 'ROUND_ROBIN', least_request: 'LEAST_REQUEST', ring_hash: 'RING_HASH', maglev: 'MAGLEV', random: 'RANDOM' } as const;

/** The typed load-balancing extensions of the policies that need no hash (an override's fallback). */
const LB_EXTENSIONS = {
  round_robin: ['round_robin', 'RoundRobin'],
  least_request: ['least_request', 'LeastRequest'],
  random: ['random', 'Random'],
} as const;

/** Where a filter before the router names the host a call must go to: a key of the call's dynamic metadata. */
export interface OverrideHostSource {
  readonly namespace: string;
  readonly key: string;
}

/**
 * Envoy's override-host policy: the host the call's metadata names, when it is one of the
 * cluster's healthy hosts; without one, the target's own policy, as a typed extension (a hashing
 * policy cannot be one: the resolved model never asks for an override on top of it).
 */
function overrideHost(lb: LoadBalancer, from: OverrideHostSource): JsonObject {
  if (lb.policy === 'ring_hash' || lb.policy === 'maglev') throw new Error(`an override-host policy cannot fall back to ${lb.policy}`);
  const [name, type] = LB_EXTENSIONS[lb.policy];
  const fallback: JsonObject = {
    '@type': `type.googleapis.com/envoy.extensions.load_balancing_policies.${name}.v3.${type}`,
    ...(lb.policy === 'least_request' && lb.choiceCount !== undefined ? { choice_count: lb.choiceCount } : {}),
  };
  return {
    load_balancing_policy: {
      policies: [
        {
          typed_extension_config: {
            name: 'envoy.load_balancing_policies.override_host',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost',
              override_host_sources: [{ metadata: { key: from.namespace, path: [{ key: from.key }] } }],
              fallback_policy: { policies: [{ typed_extension_config: { name: `envoy.load_balancing_policies.${name}`, typed_config: fallback } }] },
            },
          },
        },
      ],
    },
  };
}

function loadBalancer(lb: LoadBalancer): JsonObject {
  const out: JsonObject = { lb_policy: LB_POLICY[lb.policy] };
  if (lb.choiceCount !== undefined) out['least_request_lb_config'] = { choice_count: lb.choiceCount };
  if (lb.policy === 'ring_hash' && (lb.minimumRingSize || lb.maximumRingSize)) {
    out['ring_hash_lb_config'] = {
      ...(lb.minimumRingSize ? { minimum_ring_size: lb.minimumRingSize } : {}),
      ...(lb.maximumRingSize ? { maximum_ring_size: lb.maximumRingSize } : {}),
    };
  }
  return out;
}

function circuitBreakers(c: CircuitBreakers): JsonObject {
  const t: JsonObject = {};
  if (c.maxConnections !== undefined) t['max_connections'] = c.maxConnections;
  if (c.maxPendingRequests !== undefined) t['max_pending_requests'] = c.maxPendingRequests;
  if (c.maxRequests !== undefined) t['max_requests'] = c.maxRequests;
  if (c.maxRetries !== undefined) t['max_retries'] = c.maxRetries;
  if (c.retryBudget) {
    t['retry_budget'] = {
      budget_percent: { value: c.retryBudget.percent },
      ...(c.retryBudget.minConcurrency !== undefined ? { min_retry_concurrency: c.retryBudget.minConcurrency } : {}),
    };
  }
  return { circuit_breakers: { thresholds: [t] } };
}

function healthPolicy(p: ServicePolicy): JsonObject {
  const out: JsonObject = {};
  const o = p.outlierDetection;
  if (o) {
    out['outlier_detection'] = {
      consecutive_5xx: o.consecutive5xx,
      ...(o.intervalMs !== undefined ? { interval: durationOf(o.intervalMs) } : {}),
      ...(o.baseEjectionTimeMs !== undefined ? { base_ejection_time: durationOf(o.baseEjectionTimeMs) } : {}),
      ...(o.maxEjectionPercent !== undefined ? { max_ejection_percent: o.maxEjectionPercent } : {}),
      enforcing_consecutive_5xx: o.enforcingConsecutive5xx,
      // Only consecutive failures eject: gateway failures are counted by that already.
      enforcing_success_rate: 0,
      ...(o.localOriginFailures !== undefined
        ? {
            split_external_local_origin_errors: true,
            consecutive_local_origin_failure: o.localOriginFailures,
            enforcing_consecutive_local_origin_failure: 100,
            enforcing_local_origin_success_rate: 0,
          }
        : {}),
    };
  }
  const h = p.healthCheck;
  if (h) {
    out['health_checks'] = [
      {
        timeout: durationOf(h.timeoutMs),
        interval: durationOf(h.intervalMs),
        unhealthy_threshold: h.unhealthyThreshold,
        healthy_threshold: h.healthyThreshold,
        http_health_check: { path: h.path },
      },
    ];
  }
  return out;
}

/** `overrideHostFrom`: the call's metadata may name its host (the target's own policy decides without it). */
export function targetCluster(target: Target, overrideHostFrom?: OverrideHostSource): JsonObject {
  const policy = target.policy;
  return {
    name: target.id,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_SOURCE, service_name: target.id },
    connect_timeout: durationOf(policy.connectTimeoutMs),
    ...(overrideHostFrom ? overrideHost(policy.loadBalancer, overrideHostFrom) : loadBalancer(policy.loadBalancer)),
    // Consul's health is authoritative: never spread load onto instances it marked critical,
    // which Envoy's default panic mode (below 50% healthy) would do.
    common_lb_config: { healthy_panic_threshold: { value: 0 } },
    // Bytes per request and answer, as histograms: what each service takes and gives.
    track_cluster_stats: { request_response_sizes: true },
    ...circuitBreakers(policy.circuitBreakers),
    ...healthPolicy(policy),
    ...upstreamProtocolOptions(policy.protocol),
  };
}
