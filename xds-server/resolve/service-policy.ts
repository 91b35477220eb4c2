// A service's policy for everyone who calls it, each setting decided once by the precedence
// table (precedence.ts) from its service-resolver, service-defaults, meta and the defaults — and,
// for a service the gateway's filters call, what those filters need (gRPC, their timeout).
import { durationMs } from '../../shared/validate/duration.js';
import type { ServiceDefaultsEntry, ServiceResolverEntry } from '../model/config-entries/schema.js';
import type { Protocol } from '../model/mesh.js';
import {
  DEFAULT_ADMISSION,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_LIMITS,
  DEFAULT_GRPC_WEB_MAX_AGE_SECONDS,
  DEFAULT_HTTP_MAX_REQUEST_BYTES,
  DEFAULT_LOAD_BALANCER,
  DEFAULT_OUTLIER_DETECTION,
  DEFAULT_PROTOCOL,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRY_BUDGET,
  DEFAULT_TRANSCODED_STREAMS,
} from './defaults.js';
import type { AdmissionPolicy, CircuitBreakers, GrpcWebPolicy, HashPolicy, HealthCheck, LoadBalancer, OutlierDetection, ServicePolicy } from './policy-types.js';
import { pieceName, type Infrastructure } from './infrastructure.js';
import type { MeshReader } from './mesh-reader.js';
import { decide, type Layer, type Setting } from './precedence.js';

const optionalMs = (text: string | undefined): number | undefined => (text === undefined ? undefined : durationMs(text));

function loadBalancerOf(r: ServiceResolverEntry | undefined): LoadBalancer | undefined {
  const lb = r?.LoadBalancer;
  if (!lb) return undefined;
  return {
    policy: lb.Policy,
    ...(lb.Policy === 'least_request' && lb.LeastRequestConfig ? { choiceCount: lb.LeastRequestConfig.ChoiceCount } : {}),
    ...(lb.Policy === 'ring_hash' && lb.RingHashConfig?.MinimumRingSize ? { minimumRingSize: lb.RingHashConfig.MinimumRingSize } : {}),
    ...(lb.Policy === 'ring_hash' && lb.RingHashConfig?.MaximumRingSize ? { maximumRingSize: lb.RingHashConfig.MaximumRingSize } : {}),
  };
}

function hashPoliciesOf(r: ServiceResolverEntry | undefined): HashPolicy[] | undefined {
  const list = r?.LoadBalancer?.HashPolicies;
  if (!list?.length) return undefined;
  return list.map((h): HashPolicy => {
    const terminal = !!h.Terminal;
    if (h.SourceIP) return { kind: 'source_ip', terminal };
    if (h.Field === 'header') return { kind: 'header', name: h.FieldValue!.toLowerCase(), terminal };
    if (h.Field === 'query_parameter') return { kind: 'query_parameter', name: h.FieldValue!, terminal };
    const c = h.CookieConfig;
    return {
      kind: 'cookie',
      name: h.FieldValue!,
      ...(c?.TTL && !c.Session ? { ttlMs: durationMs(c.TTL) } : {}),
      ...(c?.Path ? { path: c.Path } : {}),
      terminal,
    };
  });
}

/** service-defaults' Admission over the default, field by field; `false` when it turns the gate off. */
function admissionOf(d: ServiceDefaultsEntry | undefined): AdmissionPolicy | false | undefined {
  const a = d?.Admission;
  if (!a) return undefined;
  if (a.Enabled === false) return false;
  return {
    successRatePercent: a.SuccessRatePercent ?? DEFAULT_ADMISSION.successRatePercent,
    windowSeconds: a.WindowSeconds ?? DEFAULT_ADMISSION.windowSeconds,
    aggression: a.Aggression ?? DEFAULT_ADMISSION.aggression,
    maxRejectionPercent: a.MaxRejectionPercent ?? DEFAULT_ADMISSION.maxRejectionPercent,
    minRequestsPerSecond: a.MinRequestsPerSecond ?? DEFAULT_ADMISSION.minRequestsPerSecond,
  };
}

function circuitBreakersOf(d: ServiceDefaultsEntry | undefined): CircuitBreakers | undefined {
  const l = d?.Limits;
  if (!l) return undefined;
  return {
    ...(l.MaxConnections !== undefined ? { maxConnections: l.MaxConnections } : {}),
    ...(l.MaxPendingRequests !== undefined ? { maxPendingRequests: l.MaxPendingRequests } : {}),
    ...(l.MaxConcurrentRequests !== undefined ? { maxRequests: l.MaxConcurrentRequests } : {}),
    ...(l.MaxRetries !== undefined ? { maxRetries: l.MaxRetries } : {}),
  };
}

function withDefaults(set: CircuitBreakers | undefined, defaults: CircuitBreakers): CircuitBreakers | undefined {
  return set && { ...defaults, ...set };
}

function outlierDetectionOf(d: ServiceDefaultsEntry | undefined): OutlierDetection | undefined {
  const p = d?.PassiveHealthCheck;
  if (!p) return undefined;
  return {
    consecutive5xx: p.MaxFailures ?? 5,
    ...(p.Interval ? { intervalMs: durationMs(p.Interval) } : {}),
    ...(p.BaseEjectionTime ? { baseEjectionTimeMs: durationMs(p.BaseEjectionTime) } : {}),
    ...(p.MaxEjectionPercent !== undefined ? { maxEjectionPercent: p.MaxEjectionPercent } : {}),
    enforcingConsecutive5xx: p.EnforcingConsecutive5xx ?? 100,
  };
}

function healthCheckOf(d: ServiceDefaultsEntry | undefined): HealthCheck | undefined {
  const a = d?.ActiveHealthCheck;
  if (!a) return undefined;
  return { path: a.Path, intervalMs: durationMs(a.Interval), timeoutMs: durationMs(a.Timeout), unhealthyThreshold: a.UnhealthyThreshold, healthyThreshold: a.HealthyThreshold };
}

function grpcWebOf(d: ServiceDefaultsEntry | undefined): GrpcWebPolicy | undefined {
  const g = d?.Transcoding?.GrpcWeb;
  if (!g) return undefined;
  return {
    allowOrigins: g.AllowOrigins,
    allowHeaders: g.AllowHeaders ?? [],
    maxAgeSeconds: g.MaxAgeSeconds ?? DEFAULT_GRPC_WEB_MAX_AGE_SECONDS,
    allowCredentials: g.AllowCredentials ?? false,
  };
}

/** The upstreams a sidecar may call: deduplicated, sorted, never itself. */
function upstreamList(service: string, declared: readonly string[]): string[] {
  return [...new Set(declared)].filter((u) => u !== service).sort();
}

/** `infrastructure`: set when the gateway's filters call this service. */
function resolvePolicy(m: MeshReader, service: string, infrastructure: Infrastructure | undefined): ServicePolicy {
  const resolver = m.resolver(service);
  const defaults = m.defaults(service);
  const meta = m.service(service)?.settings;
  const decidedBy: Partial<Record<Setting, Layer>> = {};
  const take = <T>(setting: Setting, d: { value: T; from: Layer }): T => {
    decidedBy[setting] = d.from;
    return d.value;
  };

  const protocol = take<Protocol>(
    'protocol',
    decide('protocol', { infrastructure: infrastructure ? 'grpc' : undefined, 'service-defaults': defaults?.Protocol, meta: meta?.protocol, default: DEFAULT_PROTOCOL }),
  );
  const connectTimeoutMs = take(
    'connectTimeout',
    decide('connectTimeout', {
      resolver: resolver?.ConnectTimeout ? Math.max(1, durationMs(resolver.ConnectTimeout)) : undefined,
      'service-defaults': defaults?.ConnectTimeoutMs,
      meta: meta?.connectTimeoutMs,
      default: DEFAULT_CONNECT_TIMEOUT_MS,
    }),
  );
  const requestTimeoutMs = take(
    'requestTimeout',
    decide('requestTimeout', {
      infrastructure: infrastructure?.timeoutMs,
      resolver: optionalMs(resolver?.RequestTimeout),
      'service-defaults': defaults?.RequestTimeoutMs,
      meta: meta?.requestTimeoutMs,
      default: DEFAULT_REQUEST_TIMEOUT_MS,
    }),
  );
  const loadBalancer = take('loadBalancer', decide('loadBalancer', { resolver: loadBalancerOf(resolver), default: DEFAULT_LOAD_BALANCER }));
  const hashPolicies = take<readonly HashPolicy[]>('hashPolicies', decide('hashPolicies', { resolver: hashPoliciesOf(resolver), default: [] }));
  // Field by field: a Limits entry that sets one bound keeps the defaults of the others.
  const weaker = infrastructure ? DEFAULT_LIMITS.plugin : m.service(service)?.settings.models?.length ? DEFAULT_LIMITS.model : DEFAULT_LIMITS.service;
  const limits = take<CircuitBreakers>(
    'circuitBreakers',
    decide('circuitBreakers', {
      'service-defaults': withDefaults(circuitBreakersOf(defaults), weaker),
      infrastructure: infrastructure ? DEFAULT_LIMITS.plugin : undefined,
      default: weaker,
    }),
  );
  const budget = take(
    'retryBudget',
    decide('retryBudget', {
      'service-defaults': defaults?.RetryBudget
        ? { percent: defaults.RetryBudget.BudgetPercent, ...(defaults.RetryBudget.MinRetryConcurrency !== undefined ? { minConcurrency: defaults.RetryBudget.MinRetryConcurrency } : {}) }
        : undefined,
      // An explicit MaxRetries replaces the default budget (Envoy ignores max_retries under one).
      default: limits.maxRetries === undefined ? DEFAULT_RETRY_BUDGET : undefined,
    }),
  );
  const outlierDetection = take('outlierDetection', decide('outlierDetection', { 'service-defaults': outlierDetectionOf(defaults), default: DEFAULT_OUTLIER_DETECTION }));
  const healthCheck = take('healthCheck', decide('healthCheck', { 'service-defaults': healthCheckOf(defaults), default: undefined }));
  const upstreams = take<readonly string[]>(
    'upstreams',
    decide('upstreams', { 'service-defaults': defaults?.Upstreams, meta: meta?.upstreams, default: [] }),
  );
  // 0 says "no bound": the body is streamed to the service as it comes.
  const bodyBound = take<number>('maxRequestBytes', decide('maxRequestBytes', { 'service-defaults': defaults?.MaxRequestBytes, default: protocol === 'http' ? DEFAULT_HTTP_MAX_REQUEST_BYTES : 0 }));
  const maxRequestBytes = bodyBound > 0 ? bodyBound : undefined;
  const admission = take<AdmissionPolicy | false>('admission', decide('admission', { 'service-defaults': admissionOf(defaults), default: DEFAULT_ADMISSION }));
  const transcoding = take<boolean>('transcoding', decide('transcoding', { 'service-defaults': defaults?.Transcoding?.Enabled, meta: meta?.transcode, default: false }));
  const streams = take<'ndjson' | 'sse'>('transcodedStreams', decide('transcodedStreams', { 'service-defaults': defaults?.Transcoding?.Streams, default: DEFAULT_TRANSCODED_STREAMS }));
  const grpcWeb = take<GrpcWebPolicy | undefined>('grpcWeb', decide('grpcWeb', { 'service-defaults': grpcWebOf(defaults), default: undefined }));
  return {
    service,
    protocol,
    connectTimeoutMs,
    requestTimeoutMs,
    loadBalancer,
    hashPolicies,
    circuitBreakers: budget ? { ...limits, retryBudget: budget } : limits,
    ...(outlierDetection ? { outlierDetection } : {}),
    ...(healthCheck ? { healthCheck } : {}),
    upstreams: upstreamList(service, upstreams),
    maxRequestBytes,
    admission: admission || undefined,
    transcoding: { enabled: transcoding, streams, ...(grpcWeb ? { grpcWeb } : {}) },
    decidedBy,
  };
}

/** The resolved policy of calling `service`, reused while its inputs are unchanged. */
export function servicePolicy(m: MeshReader, service: string, infrastructure?: Infrastructure): ServicePolicy {
  return m.memo('policy', pieceName(service, infrastructure), () => resolvePolicy(m, service, infrastructure));
}
