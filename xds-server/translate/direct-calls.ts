// Direct calls: a model whose calls need nothing of the LLM processor (RoutedModel.direct) is
// routed by Envoy itself, so a plain JSON call costs no ext_proc round trip (four messages, about
// 150 µs of Envoy's CPU and as much of the processor's: bench/RESULTS.md, issue 21).
//   - Envoy's json_to_metadata filter (in the chain: http-filters.ts), on the entry routes of the
//     OpenAI paths, reads the body's `model` and `stream` into DIRECT_METADATA_NAMESPACE and
//     clears the route; it sits after ext_authz and the rate limits (they have seen the entry
//     route) and before the processor;
//   - a direct route per model and OpenAI path matches them — not a stream, the cache not asked
//     for, the caller's policy not logging — and goes to the model's cluster as the processor's
//     model route would (timeout, failover retries, the answering service), with the processor
//     off for the call and the model's request counts on;
//   - anything else (another dialect, a stream, an alias, an unknown model, a body the filter
//     cannot read) matches no direct route and is the processor's, as before;
//   - the answer's usage is filed in LLM_METADATA_NAMESPACE (the access log's tokens), never over
//     what the processor filed;
//   - the gateway's access log of direct calls goes to the processor (its gRPC access-log
//     service), which counts them in its metrics: the processor never saw them.
import { EXT_AUTHZ_METADATA_NAMESPACE } from '../../shared/identity-headers.js';
import {
  CACHE_HEADER,
  DIRECT_KEYS,
  DIRECT_LOG_NAME,
  DIRECT_METADATA_NAMESPACE,
  DIRECT_PATHS,
  DIRECT_ROUTE_PREFIX,
  MODEL_HEADER,
  SERVICE_HEADER,
} from '../../shared/llm-gateway.js';
import type { JsonObject } from '../../shared/proto/codec.js';
import type { ModelLimits, RoutedModel } from '../resolve/resolved-mesh.js';
import { celFilter } from './access-log.js';
import { EXT_PROC_FILTER } from './http-filters.js';
import { routeModelLimits } from './rate-limits.js';

const PROCESSOR_OFF: JsonObject = {
  [EXT_PROC_FILTER]: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', disabled: true },
};

/** What keeps a call from the direct route: any of these sends it on to the processor. */
const PROCESSOR_WANTED = {
  stream: { filter: DIRECT_METADATA_NAMESPACE, path: [{ key: DIRECT_KEYS.stream }], value: { bool_match: true }, invert: true },
  logged: { filter: EXT_AUTHZ_METADATA_NAMESPACE, path: [{ key: 'request_log' }], value: { string_match: { exact: 'on' } }, invert: true },
  cache: { name: CACHE_HEADER, present_match: true, invert_match: true },
};

/** Every direct route's filter settings, the same for all (one per translation): the processor off, the model's request counts on. */
export function directRouteFilters(limits: ModelLimits | undefined): JsonObject {
  return { ...PROCESSOR_OFF, ...(limits ? routeModelLimits(limits, DIRECT_METADATA_NAMESPACE) : {}) };
}

/**
 * A direct model's routes, one per OpenAI path, with the route action (cluster, timeout, retries)
 * and the answering service's header its model route has. They come before the entry routes,
 * which take a call they do not match.
 */
export function directRoutes(m: RoutedModel, route: JsonObject, responseHeaders: readonly JsonObject[], filters: JsonObject): JsonObject[] {
  if (!m.direct) return [];
  return DIRECT_PATHS.map((path) => ({
    name: `${DIRECT_ROUTE_PREFIX}${m.id}${path}`,
    match: {
      path,
      headers: [{ name: ':method', string_match: { exact: 'POST' } }, PROCESSOR_WANTED.cache],
      dynamic_metadata: [
        { filter: DIRECT_METADATA_NAMESPACE, path: [{ key: DIRECT_KEYS.model }], value: { string_match: { exact: m.id } } },
        PROCESSOR_WANTED.stream,
        PROCESSOR_WANTED.logged,
      ],
    },
    route,
    // The model for the service to see, as the processor says it (a caller's copy overwritten).
    request_headers_to_add: [{ header: { key: MODEL_HEADER, value: m.id }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    response_headers_to_add: [...responseHeaders],
    typed_per_filter_config: filters,
  }));
}

/** An access-log filter: the request's dynamic metadata has the key. */
const metadataPresent = (namespace: string, key: string): JsonObject => ({ metadata_filter: { matcher: { filter: namespace, path: [{ key }], value: { present_match: true } }, match_if_key_not_found: false } });

/**
 * The access log of direct calls, to the processor's access-log service: only calls whose body
 * named a model (cheap: most calls stop there) and that a direct route took — not a call the
 * processor routed, nor one its model's door refused (under a flood those are most calls, and
 * each entry would cost Envoy and the processor for nothing). Batched (a second, or 16 KiB), and
 * dropped by Envoy, never queued without bound, when the processor is slow or gone.
 */
export function directCallsLog(processor: string): JsonObject {
  return {
    name: 'envoy.access_loggers.http_grpc',
    filter: {
      and_filter: {
        filters: [
          metadataPresent(DIRECT_METADATA_NAMESPACE, DIRECT_KEYS.model),
          celFilter(`xds.route_name.startsWith('${DIRECT_ROUTE_PREFIX}')`),
        ],
      },
    },
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig',
      common_config: {
        log_name: DIRECT_LOG_NAME,
        grpc_service: { envoy_grpc: { cluster_name: processor } },
        transport_api_version: 'V3',
        buffer_flush_interval: '1s',
        buffer_size_bytes: 16_384,
      },
      additional_response_headers_to_log: [SERVICE_HEADER],
    },
  };
}
