// The gateway's HTTP filter chain, in order:
//   1. header_mutation strips every identity header a client sent — on every route, public
//      ones included — so only ext-authz can set them;
//   2. oauth2 (login.ts; after CORS): nothing unless a route of a service that logs in turns it on; then a
//      browser without a session is sent to the provider, and the ID token of one with a session
//      goes on as Authorization for ext-authz to verify — so it comes before ext_authz;
//   3. buffer: off unless a route turns it on with its body limit. Before ext_authz: Envoy's
//      buffer filter counts a body only while it holds it, and a filter after one that paused
//      the request (ext_authz waiting for its answer) gets the body already read — whole, so
//      it passes it on unchecked (a body over the limit reached the service), or past the
//      connection's read limit, so nothing reads on and the call hangs. First, it sees every
//      byte as it arrives and answers 413 at the limit. A caller ext_authz would refuse may
//      make the gateway hold one body up to its route's limit (the overload manager bounds
//      them all). Always in the chain, so a limit set or removed changes only the route
//      table: a listener change would drain every open connection (gradually, for the whole
//      drain time) and keep-alive callers would see the old chain meanwhile;
//   4. the admission gate (admission-gate.ts): off unless a route that asks ext-authz or the
//      rate-limit service turns it on; after buffer, so that a call it refuses has been read
//      whole and its caller keeps the connection, and before the checks, so that a call it
//      refuses costs none;
//   5. ext_authz (when enabled) asks ext-authz, with the route's policy, and fails closed;
//   6. ratelimit (when enabled), after ext_authz so descriptors can use what it established;
//   7. json_to_metadata (when the LLM processor is set): off unless a model API route turns it on;
//      it reads the body's model, so that Envoy routes a call that needs nothing of the processor
//      itself (direct-calls.ts), and the others to the processor through their model's door, a
//      cluster of its own whose bound refuses a call before the processor reads it
//      (model-routes.ts); and the answer's usage;
//   8. ext_proc (when the LLM processor is set): off unless a model API route turns it on, with
//      the model table as its stream's metadata; it reads the body, files the model in dynamic
//      metadata and clears the route, so Envoy routes by model, then reads the answer chunk by
//      chunk (its headers' facts as attributes); fails closed (503);
//   9. the model limits (token budgets and request counts per model, when set, with the
//      rate-limit service): a second ratelimit filter, after the processor so that it sees the
//      model route (and the model) it chose; it counts the call, checks the budgets before it
//      and charges the tokens used when the answer is done;
//  10. the gRPC transcoding filters (transcoding-filters.ts): custom_response, lua, grpc_web and
//      the gRPC-JSON transcoder, all off unless a transcoded service's route turns them on — CORS
//      comes second, after header_mutation, so that a browser's preflight is answered before
//      ext_authz asks it for credentials (it does nothing on a route without a CORS policy);
//  11. the router.
import { EXT_AUTHZ_METADATA_NAMESPACE } from '../../shared/identity-headers.js';
import {
  DIRECT_KEYS,
  DIRECT_METADATA_NAMESPACE,
  HOST_DIALECT_ATTRIBUTE,
  HOST_MODEL_ATTRIBUTE,
  LLM_METADATA_NAMESPACE,
  MAX_MESSAGE_TIMEOUT_SECONDS,
  MODEL_TABLE_HEADER,
  PROCESSOR_HEADERS,
  RESPONSE_ATTRIBUTES,
  UPSTREAM_STAGE_HEADERS,
  UPSTREAM_STREAM_HEADER,
  UPSTREAM_STREAM_VALUE,
  USAGE_METADATA_KEYS,
} from '../../shared/llm-gateway.js';
import type { JsonObject } from '../../shared/proto/codec.js';
import type { AdmissionPolicy } from '../resolve/policy-types.js';
import type { AuthzSettings, ChainRoute, LlmSettings, ModelLimits, RateLimitDescriptor, RatelimitSettings } from '../resolve/resolved-mesh.js';
import { ADMISSION_GATE, routeAdmission } from './admission-gate.js';
import { durationOf } from './duration.js';
import type { RouteExtras } from './http-route.js';
import { ROUTER_FILTER } from './http-listener.js';
import { LOGIN_CHAIN_FILTER } from './login.js';
import { ratelimitFilter, routeRateLimits, tokenBudgetFilter } from './rate-limits.js';
import { CORS_CHAIN_FILTER, TRANSCODING_CHAIN_FILTERS } from './transcoding-filters.js';

export const EXT_AUTHZ_FILTER = 'envoy.filters.http.ext_authz';

function stripHeaders(names: readonly string[]): JsonObject {
  return {
    name: 'envoy.filters.http.header_mutation',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation',
      mutations: { request_mutations: names.map((remove) => ({ remove })) },
    },
  };
}

/** A plug-in's gRPC service as a filter reaches it: its cluster, how long it waits, what each stream carries. */
function grpcService(cluster: string, timeoutMs: number, metadata: ReadonlyArray<{ key: string; value: string }> = []): JsonObject {
  return { envoy_grpc: { cluster_name: cluster }, timeout: durationOf(timeoutMs), ...(metadata.length ? { initial_metadata: [...metadata] } : {}) };
}

function extAuthz(authz: AuthzSettings): JsonObject {
  return {
    name: EXT_AUTHZ_FILTER,
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
      grpc_service: grpcService(authz.service, authz.timeoutMs),
      transport_api_version: 'V3',
      // Fail closed: no answer from ext-authz is a 503, never a pass.
      failure_mode_allow: false,
      status_on_error: { code: 'ServiceUnavailable' },
    },
  };
}


export const BUFFER_FILTER = 'envoy.filters.http.buffer';

/** Off by default; a route with a body limit turns it on (routeBodyLimit). */
const BUFFER: JsonObject = {
  name: BUFFER_FILTER,
  disabled: true,
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer', max_request_bytes: 1 },
};

export const EXT_PROC_FILTER = 'envoy.filters.http.ext_proc';

export const JSON_TO_METADATA_FILTER = 'envoy.filters.http.json_to_metadata';

const directKey = (key: string): JsonObject => ({ metadata_namespace: DIRECT_METADATA_NAMESPACE, key });
const usage = (field: string): JsonObject => ({
  selectors: [{ key: 'usage' }, { key: field }],
  on_present: { metadata_namespace: LLM_METADATA_NAMESPACE, key: field, type: 'NUMBER', preserve_existing_metadata_value: true },
});

/** JSON, with parameters too (Envoy compares the whole header: "application/json; charset=utf-8" is what Express answers). */
const JSON_TYPES: JsonObject = { allow_content_types: ['application/json'], allow_content_types_regex: { regex: '^application/json\\s*;.*$' } };

const JSON_TO_METADATA_CONFIG: JsonObject = {
  '@type': 'type.googleapis.com/envoy.extensions.filters.http.json_to_metadata.v3.JsonToMetadata',
  request_rules: {
    rules: [
      { selectors: [{ key: 'model' }], on_present: { ...directKey(DIRECT_KEYS.model), type: 'STRING' } },
      // As the body has it (a bool, the route matches true): a stream is the processor's.
      { selectors: [{ key: 'stream' }], on_present: { ...directKey(DIRECT_KEYS.stream), type: 'PROTOBUF_VALUE' } },
    ],
    ...JSON_TYPES,
    // A call without a type is the processor's to judge.
    allow_empty_content_type: false,
  },
  response_rules: {
    rules: Object.values(USAGE_METADATA_KEYS).map(usage),
    ...JSON_TYPES,
  },
};

/**
 * Envoy holds an answer whole to read it, and answers 500 to one past the stream's buffer limit
 * (1 MiB): an answer that says it is longer than this, or says no length, is passed on as it
 * comes, unread (its usage unknown, as the processor leaves an answer past its bound).
 */
export const DIRECT_ANSWER_READ_MAX_BYTES = 999_999;

/**
 * In the gateway chain, off unless a model API entry route turns it on (ROUTE_READS_MODEL); wrapped
 * so that it skips an answer it could not hold: one whose content-length is not a number of at
 * most DIRECT_ANSWER_READ_MAX_BYTES's digits (longer, or none).
 */
export const JSON_TO_METADATA: JsonObject = {
  name: JSON_TO_METADATA_FILTER,
  disabled: true,
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.common.matching.v3.ExtensionWithMatcher',
    extension_config: { name: JSON_TO_METADATA_FILTER, typed_config: JSON_TO_METADATA_CONFIG },
    xds_matcher: {
      matcher_list: {
        matchers: [
          {
            predicate: {
              not_matcher: {
                single_predicate: {
                  input: { name: 'content-length', typed_config: { '@type': 'type.googleapis.com/envoy.type.matcher.v3.HttpResponseHeaderMatchInput', header_name: 'content-length' } },
                  value_match: { safe_regex: { google_re2: {}, regex: `^[0-9]{1,${String(DIRECT_ANSWER_READ_MAX_BYTES).length}}$` } },
                },
              },
            },
            on_match: { action: { name: 'skip', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.common.matcher.action.v3.SkipFilter' } } },
          },
        ],
      },
    },
  },
};

/**
 * An entry route of the model API reads the body's model when a door or a direct route may
 * follow. A FilterConfig whose config is present but empty turns a filter on with its chain
 * settings.
 */
export const ROUTE_READS_MODEL: JsonObject = { [JSON_TO_METADATA_FILTER]: { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', disabled: false, config: { type_url: '' } } };

/** How either stage reaches the processor: its cluster, its time limits, and failing closed (503) when it cannot. */
function processorConnection(o: { readonly service: string; readonly timeoutMs: number }, metadata: ReadonlyArray<{ key: string; value: string }> = []): JsonObject {
  return {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
    grpc_service: grpcService(o.service, o.timeoutMs, metadata),
    failure_mode_allow: false,
    status_on_error: { code: 'ServiceUnavailable' },
    message_timeout: durationOf(o.timeoutMs),
    // A call queued for a saturated model pool: the processor asks for up to this much longer.
    max_message_timeout: `${MAX_MESSAGE_TIMEOUT_SECONDS}s`,
  };
}

/**
 * The request's headers, then its whole body (the model is in it: Envoy holds the headers back
 * from routing only while their own message is out), then the answer chunk by chunk as it comes
 * (a stream is never held back) — and not the answer's headers: the status and the service that
 * answered come as attributes with its first chunk. A stream is one round trip fewer; a JSON
 * answer reaches the filter as two chunks (its data, then its end), so a JSON call is four
 * messages, as with its headers and a buffered body (bench/RESULTS.md, issue 21).
 */
const PROCESSING: JsonObject = {
  request_header_mode: 'SEND',
  request_body_mode: 'BUFFERED',
  request_trailer_mode: 'SKIP',
  response_header_mode: 'SKIP',
  response_body_mode: 'STREAMED',
  response_trailer_mode: 'SKIP',
};

/** Only these headers of a call go to the processor (Envoy's matcher takes pseudo-headers by name too). */
const forwardOnly = (names: readonly string[]): JsonObject => ({ allowed_headers: { patterns: [...new Set(names)].map((exact) => ({ exact })) } });

function extProc(llm: LlmSettings, identityHeaders: readonly string[]): JsonObject {
  return {
    name: EXT_PROC_FILTER,
    disabled: true,
    typed_config: {
      ...processorConnection(llm),
      processing_mode: PROCESSING,
      forward_rules: forwardOnly([...PROCESSOR_HEADERS, ...identityHeaders]),
      response_attributes: Object.values(RESPONSE_ATTRIBUTES),
      // ext-authz's answer (tenant, policy, request_log) goes to the processor; its own facts come back.
      metadata_options: { forwarding_namespaces: { untyped: [EXT_AUTHZ_METADATA_NAMESPACE] }, receiving_namespaces: { untyped: [LLM_METADATA_NAMESPACE] } },
    },
  };
}

export interface UpstreamStageOptions {
  readonly service: string;
  readonly timeoutMs: number;
}

/**
 * The processor's upstream stage on a model cluster: the request headers (with the name the
 * picked instance's service knows the model by, and the dialect it speaks, from its endpoint
 * metadata) and the attempt's body; nothing of the answer (the stage in the gateway's chain
 * reads that, once per call).
 */
export function upstreamExtProc(o: UpstreamStageOptions): JsonObject {
  return {
    name: EXT_PROC_FILTER,
    typed_config: {
      ...processorConnection(o, [{ key: UPSTREAM_STREAM_HEADER, value: UPSTREAM_STREAM_VALUE }]),
      processing_mode: {
        request_header_mode: 'SEND',
        request_body_mode: 'BUFFERED',
        request_trailer_mode: 'SKIP',
        response_header_mode: 'SKIP',
        response_body_mode: 'NONE',
        response_trailer_mode: 'SKIP',
      },
      request_attributes: [HOST_MODEL_ATTRIBUTE, HOST_DIALECT_ATTRIBUTE],
      forward_rules: forwardOnly(UPSTREAM_STAGE_HEADERS),
    },
  };
}

/** The last of every upstream filter chain. */
export const UPSTREAM_CODEC: JsonObject = {
  name: 'envoy.filters.http.upstream_codec',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec' },
};

export function gatewayHttpFilters(
  identityHeaders: readonly string[],
  authz: AuthzSettings | undefined,
  ratelimit: RatelimitSettings | undefined,
  llm?: LlmSettings,
  modelLimits?: ModelLimits,
): JsonObject[] {
  return [
    ...(identityHeaders.length ? [stripHeaders(identityHeaders)] : []),
    CORS_CHAIN_FILTER,
    LOGIN_CHAIN_FILTER,
    BUFFER,
    ...(authz || ratelimit ? [ADMISSION_GATE] : []),
    ...(authz ? [extAuthz(authz)] : []),
    ...(ratelimit ? [ratelimitFilter(ratelimit)] : []),
    ...(llm ? [JSON_TO_METADATA, extProc(llm, identityHeaders)] : []),
    ...(modelLimits && ratelimit ? [tokenBudgetFilter(ratelimit, modelLimits.failClosed)] : []),
    ...TRANSCODING_CHAIN_FILTERS,
    ROUTER_FILTER,
  ];
}

/** Where a route's calls reach the processor instead of its own cluster (a model's door), with the same time limit. */
export interface ProcessorDoor {
  readonly cluster: string;
  readonly timeoutMs: number;
}

/** A model API route's processor: on, with the model table as its streams' metadata, through `door` when given. */
export function routeExtProc(modelTable: string, door?: ProcessorDoor): JsonObject {
  return {
    [EXT_PROC_FILTER]: {
      '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig',
      disabled: false,
      config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute',
        overrides: {
          ...(door ? { grpc_service: grpcService(door.cluster, door.timeoutMs) } : {}),
          grpc_initial_metadata: [{ key: MODEL_TABLE_HEADER, value: modelTable }],
        },
      },
    },
  };
}

/** A route's request body limit: past it, the gateway answers 413 (JSON, payload_too_large). */
export function routeBodyLimit(maxRequestBytes: number): JsonObject {
  // A filter off in the chain is turned on for a route only by a FilterConfig that says so.
  return {
    [BUFFER_FILTER]: {
      '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig',
      disabled: false,
      config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute', buffer: { max_request_bytes: maxRequestBytes } },
    },
  };
}

/** The per-route ext_authz setting: the policy to apply, or the filter off for public routes. */
export function routeAuthz(policy: string, routeName: string): JsonObject {
  const typed: JsonObject = { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute' };
  if (policy === 'none') typed['disabled'] = true;
  else typed['check_settings'] = { context_extensions: { policy, route: routeName } };
  return { [EXT_AUTHZ_FILTER]: typed };
}

/** What a gateway path (or a transcoded service) asks before its calls go on, as resolved. */
export interface RouteChecks {
  readonly authPolicy: string | undefined;
  readonly rateLimits: readonly RateLimitDescriptor[];
  readonly admission?: AdmissionPolicy;
}

/**
 * What a gateway route adds to its Envoy route: the rate-limit descriptors of the path it serves,
 * ext-authz's policy (by the route's name), the gate before those checks, and its body limit.
 * The same for a path's routes and a transcoded service's.
 */
export function gatewayRouteExtras({ authPolicy, rateLimits, admission }: RouteChecks, extraFilters: (route: ChainRoute) => JsonObject = () => ({})): RouteExtras {
  return (routeName, action, route) => {
    if (rateLimits.length) action['rate_limits'] = routeRateLimits(rateLimits);
    const perFilter: JsonObject = {
      ...(authPolicy !== undefined ? routeAuthz(authPolicy, routeName) : {}),
      ...(route.policy.maxRequestBytes !== undefined ? routeBodyLimit(route.policy.maxRequestBytes) : {}),
      ...(admission ? routeAdmission(admission) : {}),
      ...extraFilters(route),
    };
    return Object.keys(perFilter).length ? { typed_per_filter_config: perFilter } : {};
  };
}
