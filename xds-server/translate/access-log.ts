// One JSON line per request on Envoy's stdout: what operators grep when a caller complains.
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
            upstream: '%UPSTREAM_HOST%',
            duration_ms: '%DURATION%',
            client: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%',
            // The model API's facts (model, service, tokens) from the LLM processor; null elsewhere.
            llm: `%DYNAMIC_METADATA(${LLM_METADATA_NAMESPACE})%`,
          },
        },
      },
    },
  ];
}
