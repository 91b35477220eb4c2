// Route rate_limits actions from a path's descriptors, and the ratelimit HTTP filter.
import { EXT_AUTHZ_METADATA_NAMESPACE } from '../../shared/identity-headers.js';
import { BUDGET_ENTRY, BUDGET_METADATA, LLM_METADATA_NAMESPACE, MODEL_METADATA_KEY } from '../../shared/llm-gateway.js';
import type { JsonObject } from '../../shared/proto/codec.js';
import type { ModelLimits, RateLimitDescriptor, RateLimitEntry, RatelimitSettings } from '../resolve/resolved-mesh.js';

/** `modelNamespace`: where the call's model is filed (the processor's metadata, or a direct call's). */
function action(e: RateLimitEntry, modelNamespace: string): JsonObject {
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
      return { metadata: { descriptor_key: 'model', metadata_key: { key: modelNamespace, path: [{ key: MODEL_METADATA_KEY }] }, source: 'DYNAMIC' } };
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

/** A descriptor's actions; `modelNamespace`: where the call's model is filed. */
const actionsOf = (d: RateLimitDescriptor, modelNamespace = LLM_METADATA_NAMESPACE): JsonObject[] => d.entries.map((e) => action(e, modelNamespace));

export function routeRateLimits(descriptors: readonly RateLimitDescriptor[], modelNamespace = LLM_METADATA_NAMESPACE): JsonObject[] {
  return descriptors.map((d) => ({ actions: actionsOf(d, modelNamespace) }));
}

/** The budgets' filter: a second ratelimit filter, after the LLM processor, off unless a model route turns it on. */
export const TOKEN_BUDGET_FILTER = 'meshgate.llm.token_budget';

const fromCall = (descriptorKey: string): JsonObject => ({
  metadata: { descriptor_key: descriptorKey, metadata_key: { key: LLM_METADATA_NAMESPACE, path: [{ key: BUDGET_METADATA.call }] }, source: 'DYNAMIC' },
});
const metadataNumber = (key: string): JsonObject => ({ format: `%DYNAMIC_METADATA(${LLM_METADATA_NAMESPACE}:${key})%` });

/**
 * A budget's two descriptors: before the call, its reservation (what the processor says the
 * call may use at most, granted only if it fits); when the stream is done, its settlement (what
 * the call used; the service returns the rest or charges the excess). Both name the call, so
 * the service settles the reservation it granted and nothing else. A call without the
 * processor's figures (not routed) sends neither.
 */
function budgetLimits(budgets: readonly RateLimitDescriptor[], reserve: string, charge: string): JsonObject[] {
  return budgets.flatMap((d) => [
    { actions: [...actionsOf(d), fromCall(BUDGET_ENTRY.reserve)], hits_addend: metadataNumber(reserve) },
    { actions: [...actionsOf(d), fromCall(BUDGET_ENTRY.settle)], hits_addend: metadataNumber(charge), apply_on_stream_done: true },
  ]);
}

/**
 * A model route's limits: its request-count descriptors count one a call; its token and cost
 * budgets reserve and settle (budgetLimits), so concurrent calls cannot spend past a budget.
 */
export function routeModelLimits({ tokenBudgets, costBudgets, requestLimits }: ModelLimits, modelNamespace = LLM_METADATA_NAMESPACE): JsonObject {
  const limits = [
    // Request counts: one a call, when the model is known.
    ...routeRateLimits(requestLimits, modelNamespace),
    ...budgetLimits(tokenBudgets, BUDGET_METADATA.reserveTokens, BUDGET_METADATA.chargeTokens),
    ...budgetLimits(costBudgets, BUDGET_METADATA.reserveCost, BUDGET_METADATA.chargeCost),
  ];
  return {
    [TOKEN_BUDGET_FILTER]: {
      '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig',
      disabled: false,
      config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute', rate_limits: limits },
    },
  };
}

/** `failClosed`: the model limits' own failure mode (budgets refuse a call they cannot count, by default). */
export function tokenBudgetFilter(o: RatelimitSettings, failClosed: boolean): JsonObject {
  return { ...ratelimitFilter({ ...o, failClosed }), name: TOKEN_BUDGET_FILTER, disabled: true };
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
