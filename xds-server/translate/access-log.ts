// One JSON line per request on Envoy's stdout: what operators grep when a caller complains.
import { EXT_AUTHZ_METADATA_NAMESPACE } from '../../shared/identity-headers.js';
import { LLM_METADATA_NAMESPACE } from '../../shared/llm-gateway.js';
import type { JsonObject } from '../../shared/proto/codec.js';

export function stdoutAccessLog(): JsonObject[] {
  return [
    {
      name: 'envoy.access_loggers.stdout',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
        log_format: {
          json_format: {
            time: '%START_TIME%',
            request_id: '%REQ(X-REQUEST-ID)%',
            method: '%REQ(:METHOD)%',
            path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
            status: '%RESPONSE_CODE%',
            flags: '%RESPONSE_FLAGS%',
            details: '%RESPONSE_CODE_DETAILS%',
            route: '%ROUTE_NAME%',
            // The service (its cluster) and the instance that answered.
            service: '%UPSTREAM_CLUSTER%',
            instance: '%UPSTREAM_METADATA(meshgate:instance)%',
            upstream: '%UPSTREAM_HOST%',
            duration_ms: '%DURATION%',
            bytes_in: '%BYTES_RECEIVED%',
            bytes_out: '%BYTES_SENT%',
            client: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%',
            // Who ext-authz said the caller is (its metadata; no client header).
            tenant: `%DYNAMIC_METADATA(${EXT_AUTHZ_METADATA_NAMESPACE}:tenant)%`,
            // The model API's facts (model, service, tokens) from the LLM processor; null elsewhere.
            llm: `%DYNAMIC_METADATA(${LLM_METADATA_NAMESPACE})%`,
          },
        },
      },
    },
  ];
}

/**
 * The gateway's access log to meshgate's access-log service (Envoy's gRPC access-log service,
 * envoy.service.accesslog.v3): the console keeps a bounded window of it, searchable. Entries are
 * batched (a second, or 16 KiB) and dropped by Envoy, never queued without bound, when the
 * service is slow or gone; the stdout log above stays for users' log shippers.
 */
export function grpcAccessLog(service: string): JsonObject {
  return {
    name: 'envoy.access_loggers.http_grpc',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig',
      common_config: {
        log_name: 'meshgate-gateway',
        grpc_service: { envoy_grpc: { cluster_name: service } },
        transport_api_version: 'V3',
        buffer_flush_interval: '1s',
        buffer_size_bytes: 16_384,
      },
    },
  };
}

/**
 * An access-log filter (and a local reply's) by a CEL expression over the request's attributes:
 * for what no cheaper filter reads (the route's name, a reply's details). Evaluated per request
 * that reaches it, so it goes last in an and_filter, after the cheap ones.
 */
export function celFilter(expression: string): JsonObject {
  return {
    extension_filter: {
      name: 'envoy.access_loggers.extension_filters.cel',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter', expression },
    },
  };
}
