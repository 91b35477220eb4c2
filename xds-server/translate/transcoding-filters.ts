// The gateway filters that serve a gRPC service as JSON over HTTP, and gRPC-Web to browsers, and
// their settings on a transcoded service's route. In the chain (http-filters.ts) they are all
// off but CORS (which does nothing without a route's policy); a transcoded route turns them on:
//
//   custom_response  a gRPC error the transcoder answers becomes the gateway's JSON error (the
//                    HCM's local reply mappers give it the shape), with the HTTP status of
//                    GRPC_TO_HTTP; only for transcoded calls (the transcoder marks them with
//                    x-envoy-original-path), so native gRPC and gRPC-Web callers get gRPC errors;
//   lua              grpc-message is percent-encoded on the wire (grpc-js encodes even spaces):
//                    its decoded text, for the error's message;
//   grpc_web         gRPC-Web → gRPC, for services whose service-defaults turn it on;
//   transcoder       JSON ↔ gRPC with the service's descriptor set: `POST /pkg.Service/Method`
//                    and the annotations' REST paths; an unknown method is a 404 (JSON), never
//                    passed on.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { ServiceDescriptor } from '../resolve/resolved-mesh.js';
import type { GrpcWebPolicy, TranscodingPolicy } from '../resolve/policy-types.js';

export const TRANSCODER_FILTER = 'envoy.filters.http.grpc_json_transcoder';
export const GRPC_WEB_FILTER = 'envoy.filters.http.grpc_web';
export const CORS_FILTER = 'envoy.filters.http.cors';
export const CUSTOM_RESPONSE_FILTER = 'envoy.filters.http.custom_response';
export const LUA_FILTER = 'envoy.filters.http.lua';

/** gRPC status code → name and the HTTP status a JSON caller gets (google.rpc.Code's mapping, as Envoy's). */
export const GRPC_TO_HTTP: ReadonlyArray<readonly [code: number, name: string, http: number]> = [
  [1, 'CANCELLED', 499],
  [2, 'UNKNOWN', 500],
  [3, 'INVALID_ARGUMENT', 400],
  [4, 'DEADLINE_EXCEEDED', 504],
  [5, 'NOT_FOUND', 404],
  [6, 'ALREADY_EXISTS', 409],
  [7, 'PERMISSION_DENIED', 403],
  [8, 'RESOURCE_EXHAUSTED', 429],
  [9, 'FAILED_PRECONDITION', 400],
  [10, 'ABORTED', 409],
  [11, 'OUT_OF_RANGE', 400],
  [12, 'UNIMPLEMENTED', 501],
  [13, 'INTERNAL', 500],
  [14, 'UNAVAILABLE', 503],
  [15, 'DATA_LOSS', 500],
  [16, 'UNAUTHENTICATED', 401],
];

/** The response header a JSON error of a gRPC status carries its name in ("NOT_FOUND"). */
export const GRPC_STATUS_NAME_HEADER = 'grpc-status-name';
const DECODED_MESSAGE_HEADER = 'x-meshgate-grpc-message';
const LUA_DECODE_MESSAGE = `function envoy_on_response(handle)
  local m = handle:headers():get("grpc-message")
  if m ~= nil and string.find(m, "%", 1, true) then
    handle:headers():replace("${DECODED_MESSAGE_HEADER}", (string.gsub(m, "%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)))
  end
end
`;

const headerInput = (side: 'Request' | 'Response', header: string): JsonObject => ({
  name: header,
  typed_config: { '@type': `type.googleapis.com/envoy.type.matcher.v3.Http${side}HeaderMatchInput`, header_name: header },
});

function grpcErrorMatcher(): JsonObject {
  const policy = (name: string, http: number): JsonObject => ({
    action: {
      name: name.toLowerCase(),
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.http.custom_response.local_response_policy.v3.LocalResponsePolicy',
        status_code: http,
        // The local reply's text, which the HCM's mappers put in the error's "message".
        body_format: { text_format_source: { inline_string: `%RESP(${DECODED_MESSAGE_HEADER}?grpc-message)%` } },
        response_headers_to_add: [{ header: { key: GRPC_STATUS_NAME_HEADER, value: name }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
      },
    },
  });
  return {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.custom_response.v3.CustomResponse',
    custom_response_matcher: {
      matcher_list: {
        matchers: [
          {
            // A transcoded call (the transcoder set the original path) …
            predicate: { single_predicate: { input: headerInput('Request', 'x-envoy-original-path'), value_match: { prefix: '/' } } },
            // … whose answer is a gRPC error: by its code.
            on_match: {
              matcher: {
                matcher_tree: {
                  input: headerInput('Response', 'grpc-status'),
                  exact_match_map: { map: Object.fromEntries(GRPC_TO_HTTP.map(([code, name, http]) => [String(code), policy(name, http)])) },
                },
              },
            },
          },
        ],
      },
    },
  };
}

/** The chain's entries, in their order (after the model filters, before the router), with their settings for every route that turns them on. */
export const TRANSCODING_CHAIN_FILTERS: readonly JsonObject[] = Object.freeze([
    { name: CUSTOM_RESPONSE_FILTER, disabled: true, typed_config: grpcErrorMatcher() },
    {
      name: LUA_FILTER,
      disabled: true,
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua', default_source_code: { inline_string: LUA_DECODE_MESSAGE } },
    },
    { name: GRPC_WEB_FILTER, disabled: true, typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb' } },
    {
      name: TRANSCODER_FILTER,
      disabled: true,
      // No services: transcodes nothing until a route's own configuration says what.
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder', proto_descriptor_bin: '', services: [] },
    },
  ]);

/** CORS, early in the chain (a preflight is answered before ext_authz asks for credentials). */
export const CORS_CHAIN_FILTER: JsonObject = { name: CORS_FILTER, typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' } };

const filterConfig = (config: JsonObject): JsonObject => ({ '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', config });
/** A FilterConfig whose `config` is present but empty: Envoy's way to turn on, for a route, a filter that has no per-route settings. */
const ENABLED: JsonObject = filterConfig({ type_url: '' });

function corsPolicy(web: GrpcWebPolicy): JsonObject {
  return {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
    allow_origin_string_match: web.allowOrigins.map((o) => (o === '*' ? { safe_regex: { regex: '.*' } } : { exact: o })),
    allow_methods: 'POST, GET, OPTIONS',
    allow_headers: ['content-type', 'x-grpc-web', 'x-user-agent', 'grpc-timeout', 'authorization', ...web.allowHeaders].join(','),
    expose_headers: 'grpc-status,grpc-message,grpc-status-details-bin',
    max_age: String(web.maxAgeSeconds),
    ...(web.allowCredentials ? { allow_credentials: true } : {}),
  };
}

/**
 * A transcoded service's route settings: the transcoder with its descriptors (and the body
 * limit as its own — the service's, else gRPC's 4 MiB — so that a JSON body past it is a 413),
 * the JSON errors, gRPC-Web and CORS when its policy says so.
 */
export function transcodedRouteFilters(descriptor: ServiceDescriptor, policy: TranscodingPolicy, maxRequestBytes: number): JsonObject {
  return {
    [TRANSCODER_FILTER]: filterConfig({
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder',
      proto_descriptor_bin: descriptor.base64,
      services: [...descriptor.grpcServices],
      auto_mapping: true,
      // The route was chosen by the path the caller sent (its policy, limits and CORS apply).
      match_incoming_request_route: true,
      request_validation_options: { reject_unknown_method: true },
      print_options: policy.streams === 'sse' ? { stream_sse_style_delimited: true } : { stream_newline_delimited: true },
      // The transcoder holds a whole request message before it sends it: bounded even where the service sets no limit.
      max_request_body_size: maxRequestBytes,
    }),
    // On with the chain's own settings (the error matcher, the decoding script).
    [CUSTOM_RESPONSE_FILTER]: ENABLED,
    [LUA_FILTER]: ENABLED,
    ...(policy.grpcWeb ? { [GRPC_WEB_FILTER]: ENABLED, [CORS_FILTER]: corsPolicy(policy.grpcWeb) } : {}),
  };
}
