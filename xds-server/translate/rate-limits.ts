// Route rate_limits actions from a path's descriptors, and the ratelimit HTTP filter.
import { EXT_AUTHZ_METADATA_NAMESPACE } from '../../shared/identity-headers.js';
import { LLM_METADATA_NAMESPACE, MODEL_METADATA_KEY } from '../../shared/llm-gateway.js';
import type { JsonObject } from '../../shared/proto/codec.js';
import type { ModelLimits, RateLimitDescriptor, RateLimitEntry, RatelimitSettings } from '../resolve/resolved-mesh.js';

function action(e: RateLimitEntry): JsonObject {
  switch (e.kind) {
    case 'remote_address':
      return { remote_address: {} };
    case 'destination_cluster':
      return { destination_cluster: {} };
    case 'header':
      return { request_headers: { header_name: e.header, descriptor_key: e.key } };
    case 'generic':
      return { generic_key: { descriptor_value: e.value, descriptor_key: e.key } };
    case 'model':
      return { metadata: { descriptor_key: 'model', metadata_key: { key: LLM_METADATA_NAMESPACE, path: [{ key: MODEL_METADATA_KEY }] }, source: 'DYNAMIC' } };
    case 'auth':
      // What ext-authz established; absent (a public route) → no descriptor, so no limit.
      return {
        metadata: {
          descriptor_key: e.field,
          metadata_key: { key: EXT_AUTHZ_METADATA_NAMESPACE, path: [{ key: e.field }] },
          source: 'DYNAMIC',
        },
      };
  }
}

export function routeRateLimits(descriptors: readonly RateLimitDescriptor[]): JsonObject[] {
  return descriptors.map((d) => ({ actions: d.entries.map(action) }));
}

/** The token budgets' filter: a second ratelimit filter, after the LLM processor, off unless a model route turns it on. */
export const TOKEN_BUDGET_FILTER = 'meshgate.llm.token_budget';

/**
 * A model route's limits. Its request-count descriptors count one a call. Its token budgets:
 * each descriptor checked before the call (0 hits: refused once the tokens already used pass
 * the budget), then charged when the answer is done with the tokens it used, from the
 * processor's metadata — so a stream is charged its real total, and the call that crosses the
 * budget completes.
 */
export function routeModelLimits({ tokenBudgets: budgets, requestLimits }: ModelLimits): JsonObject {
  const limits = [
    // Request counts: one a call, when the model is known.
    ...requestLimits.map((d) => ({ actions: d.entries.map(action) })),
    ...budgets.map((d) => ({ actions: d.entries.map(action), hits_addend: { number: 0 } })),
    ...budgets.map((d) => ({ actions: d.entries.map(action), hits_addend: { format: `%DYNAMIC_METADATA(${LLM_METADATA_NAMESPACE}:total_tokens)%` }, apply_on_stream_done: true })),
  ];
  return {
    [TOKEN_BUDGET_FILTER]: {
      '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig',
      disabled: false,
      config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute', rate_limits: limits },
    },
  };
}

export function tokenBudgetFilter(o: RatelimitSettings): JsonObject {
  return { ...ratelimitFilter(o), name: TOKEN_BUDGET_FILTER, disabled: true };
}

export function ratelimitFilter(o: RatelimitSettings): JsonObject {
  return {
    name: 'envoy.filters.http.ratelimit',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit',
      domain: o.domain,
      timeout: `${o.timeoutMs / 1000}s`,
      failure_mode_deny: o.failClosed,
      // Fail closed answers 503 ratelimit_unavailable (local reply, flag RLSE), not Envoy's 500.
      ...(o.failClosed ? { status_on_error: { code: 'ServiceUnavailable' } } : {}),
      // X-RateLimit-Limit / -Remaining / -Reset on every limited response.
      enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
      rate_limit_service: { grpc_service: { envoy_grpc: { cluster_name: o.service } }, transport_api_version: 'V3' },
    },
  };
}
