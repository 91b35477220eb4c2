// Every reply Envoy makes up itself (no route, no healthy upstream, timeout, and later auth and
// rate-limit denials) leaves the gateway as JSON of one stable shape:
//   {"error": {"status": 503, "code": "no_healthy_upstream", "message": "…", "request_id": "…"}}
// except on the Anthropic-dialect model API (/v1/messages…), where it is Anthropic's error shape,
// which its clients read: {"type": "error", "error": {"type": "overloaded_error", "message": "…"}, "request_id": "…"}.
// Mappers are tried in order: a 2xx the gateway answers itself (a direct response) and the LLM
// processor's errors (already in the caller's dialect) as they are, then Envoy's response flags
// (they say why), then the status — first on the Anthropic paths, then on all the others.
import { ANSWER_METADATA_KEY, CLIENT_DIALECT_OF_PATH, LLM_METADATA_NAMESPACE, OPENAI_ANSWER } from '../../shared/llm-gateway.js';
import type { JsonObject } from '../../shared/proto/codec.js';
import { celFilter } from './access-log.js';
import { ADMISSION_REFUSED_DETAILS } from './admission-gate.js';

interface ReplyKind {
  readonly code: string;
  /** Anthropic's name for it (its error `type`). */
  readonly anthropic: string;
  readonly message?: string;
  /** A refusal the caller may repeat later: the answer says when (Retry-After). */
  readonly retryAfter?: string;
}

/**
 * How long a caller refused for load waits before trying again (seconds): overload passes in
 * about that time, and a whole fleet of clients told the same does not come back at once only
 * if their libraries add jitter (the openai and Anthropic SDKs do). A rate limit says when its
 * window ends (the rate-limit filter's x-ratelimit-reset); a limit without an answer says 1.
 */
const RETRY_AFTER_SECONDS = '1';
const RATE_LIMIT_RETRY_AFTER = '%RESP(X-RATELIMIT-RESET)%';

function retryAfter(value: string | undefined): JsonObject {
  return value ? { headers_to_add: [{ header: { key: 'retry-after', value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }] } : {};
}

function errorBody(code: string): JsonObject {
  return {
    json_format: {
      error: {
        status: '%RESPONSE_CODE%',
        code,
        message: '%LOCAL_REPLY_BODY%',
        request_id: '%REQ(X-REQUEST-ID)%',
      },
    },
  };
}

/** How ext_proc's failing closed reads when its stream was refused at its cluster's bound (a model's door full). */
const PROCESSOR_FULL_DETAILS = 'ext_proc_error_gRPC_error_14{upstream_connect_error_or_disconnect/reset_before_headers._reset_reason:_overflow';

const BY_FLAG: ReadonlyArray<readonly [flags: string[], kind: ReplyKind]> = [
  [['NR'], { code: 'route_not_found', anthropic: 'not_found_error', message: 'no route matches this request' }],
  [['NC'], { code: 'service_not_found', anthropic: 'api_error', message: 'the service for this route is not known' }],
  [['UH'], { code: 'no_healthy_upstream', anthropic: 'api_error', message: 'no healthy instance of the service is available' }],
  [['UT'], { code: 'upstream_timeout', anthropic: 'timeout_error', message: 'the service did not answer in time' }],
  [['UF', 'URX'], { code: 'upstream_unavailable', anthropic: 'api_error', message: 'the service could not be reached' }],
  [['UO'], { code: 'upstream_overloaded', anthropic: 'overloaded_error', message: 'the service has too many requests in flight: try again after the time in Retry-After', retryAfter: RETRY_AFTER_SECONDS }],
  [['RL'], { code: 'rate_limited', anthropic: 'rate_limit_error', message: 'too many requests: try again after the time in Retry-After', retryAfter: RATE_LIMIT_RETRY_AFTER }],
  [['RLSE'], { code: 'ratelimit_unavailable', anthropic: 'api_error', message: 'the rate-limit service could not be asked, and this gateway fails closed', retryAfter: RETRY_AFTER_SECONDS }],
];

const BY_STATUS: ReadonlyArray<readonly [status: number, kind: ReplyKind]> = [
  [400, { code: 'bad_request', anthropic: 'invalid_request_error' }],
  [401, { code: 'unauthenticated', anthropic: 'authentication_error' }],
  [403, { code: 'forbidden', anthropic: 'permission_error' }],
  [404, { code: 'not_found', anthropic: 'not_found_error' }],
  [408, { code: 'request_timeout', anthropic: 'timeout_error' }],
  [409, { code: 'conflict', anthropic: 'invalid_request_error' }],
  [413, { code: 'payload_too_large', anthropic: 'request_too_large' }],
  [429, { code: 'rate_limited', anthropic: 'rate_limit_error', retryAfter: RETRY_AFTER_SECONDS }],
  [431, { code: 'headers_too_large', anthropic: 'invalid_request_error' }],
  [499, { code: 'cancelled', anthropic: 'api_error' }],
  [500, { code: 'internal_error', anthropic: 'api_error' }],
  [501, { code: 'not_implemented', anthropic: 'api_error' }],
  [502, { code: 'bad_gateway', anthropic: 'api_error' }],
  [503, { code: 'unavailable', anthropic: 'overloaded_error', retryAfter: RETRY_AFTER_SECONDS }],
  [504, { code: 'gateway_timeout', anthropic: 'timeout_error' }],
];

/** The model API paths whose callers speak Anthropic's dialect (CLIENT_DIALECT_OF_PATH says which): the shortest is the prefix of all. */
const ANTHROPIC_PATHS: JsonObject = (() => {
  const paths = Object.keys(CLIENT_DIALECT_OF_PATH).filter((p) => CLIENT_DIALECT_OF_PATH[p] === 'anthropic').sort((a, b) => a.length - b.length);
  if (!paths.every((p) => p.startsWith(paths[0]!))) throw new Error(`the Anthropic-dialect paths share no prefix: ${paths.join(', ')}`);
  return { header_filter: { header: { name: ':path', string_match: { prefix: paths[0]! } } } };
})();

function anthropicErrorBody(type: string): JsonObject {
  return { json_format: { type: 'error', error: { type, message: '%LOCAL_REPLY_BODY%' }, request_id: '%REQ(X-REQUEST-ID)%' } };
}

let built: JsonObject | undefined;

/** The same for every listener: built once, shared (never mutated). */
export function jsonLocalReplies(): JsonObject {
  built ??= buildLocalReplies();
  return built;
}

function buildLocalReplies(): JsonObject {
  const mappers: JsonObject[] = [
    // A successful answer the gateway gives itself (a route's direct response: the model list)
    // is not an error: its body goes out as it is.
    {
      filter: {
        and_filter: {
          filters: [
            { status_code_filter: { comparison: { op: 'GE', value: { default_value: 200, runtime_key: 'meshgate.local_reply.ok_from' } } } },
            { status_code_filter: { comparison: { op: 'LE', value: { default_value: 299, runtime_key: 'meshgate.local_reply.ok_to' } } } },
          ],
        },
      },
      body_format_override: { text_format_source: { inline_string: '%LOCAL_REPLY_BODY%' }, content_type: 'application/json' },
    },
    // The LLM processor's own answers (OpenAI's error shape, which OpenAI's clients read) go out
    // as they are: it marks them in its dynamic metadata.
    {
      filter: {
        metadata_filter: {
          matcher: { filter: LLM_METADATA_NAMESPACE, path: [{ key: ANSWER_METADATA_KEY }], value: { string_match: { exact: OPENAI_ANSWER } } },
          // Without it, every reply without the mark would match.
          match_if_key_not_found: false,
        },
      },
      body_format_override: { text_format_source: { inline_string: '%LOCAL_REPLY_BODY%' }, content_type: 'application/json' },
    },
    ...errorMappers(ANTHROPIC_PATHS, (k) => anthropicErrorBody(k.anthropic)),
    ...errorMappers(undefined, (k) => errorBody(k.code)),
  ];
  return { mappers, body_format: errorBody('error') };
}

/** Each kind of reply Envoy makes up, on the paths `only` matches (all: undefined), in the shape `body` writes. */
function errorMappers(only: JsonObject | undefined, body: (k: ReplyKind) => JsonObject): JsonObject[] {
  const on = (filter: JsonObject): JsonObject => (only ? { and_filter: { filters: [only, ...(filter['and_filter'] ? ((filter['and_filter'] as JsonObject)['filters'] as JsonObject[]) : [filter])] } } : filter);
  return [
    // ext_authz could not get an answer (fail closed): UAEX with the configured 503.
    {
      filter: on({
        and_filter: {
          filters: [
            { response_flag_filter: { flags: ['UAEX'] } },
            { status_code_filter: { comparison: { op: 'EQ', value: { default_value: 503, runtime_key: 'meshgate.local_reply.authz_error' } } } },
          ],
        },
      }),
      body: { inline_string: 'the authorization service is unavailable' },
      body_format_override: body({ code: 'auth_unavailable', anthropic: 'api_error' }),
      ...retryAfter(RETRY_AFTER_SECONDS),
    },
    // The overload manager's refusal (stop_accepting_requests, a load-shed point): Envoy sets no
    // response flag for it, but answers before it gives the request its id — no other 503 does.
    {
      filter: on({
        and_filter: {
          filters: [
            { status_code_filter: { comparison: { op: 'EQ', value: { default_value: 503, runtime_key: 'meshgate.local_reply.overloaded' } } } },
            { header_filter: { header: { name: 'x-request-id', present_match: true, invert_match: true } } },
          ],
        },
      }),
      body: { inline_string: 'the gateway is overloaded: try again after the time in Retry-After' },
      body_format_override: body({ code: 'gateway_overloaded', anthropic: 'overloaded_error' }),
      ...retryAfter(RETRY_AFTER_SECONDS),
    },
    ...BY_FLAG.map(([flags, kind]) => ({
      filter: on({ response_flag_filter: { flags } }),
      ...(kind.message ? { body: { inline_string: kind.message } } : {}),
      body_format_override: body(kind),
      ...retryAfter(kind.retryAfter),
    })),
    // A model's door full (model-routes.ts), or the processor's own cluster: ext_proc's stream was
    // refused at the cluster's bound and the filter failed closed. No response flag says so, only
    // the details (the status compared first: CEL runs for 503s alone).
    {
      filter: on({
        and_filter: {
          filters: [
            { status_code_filter: { comparison: { op: 'EQ', value: { default_value: 503, runtime_key: 'meshgate.local_reply.processor_full' } } } },
            celFilter(`response.code_details.startsWith('${PROCESSOR_FULL_DETAILS}')`),
          ],
        },
      }),
      body: { inline_string: 'the gateway holds as many calls for this model as its services take: try again after the time in Retry-After' },
      body_format_override: body({ code: 'upstream_overloaded', anthropic: 'overloaded_error' }),
      ...retryAfter(RETRY_AFTER_SECONDS),
    },
    // The admission gate before a route's checks (admission-gate.ts) shed the call, the route's
    // calls having been refused for load lately (its service past its bounds, or a check that
    // could not be made): a code of its own, since the gate cannot tell which.
    {
      filter: on({
        and_filter: {
          filters: [
            { status_code_filter: { comparison: { op: 'EQ', value: { default_value: 503, runtime_key: 'meshgate.local_reply.admission' } } } },
            celFilter(`response.code_details == '${ADMISSION_REFUSED_DETAILS}'`),
          ],
        },
      }),
      body: { inline_string: 'this route has been refusing calls for load, so the gateway sheds some before checking them: try again after the time in Retry-After' },
      body_format_override: body({ code: 'load_shed', anthropic: 'overloaded_error' }),
      ...retryAfter(RETRY_AFTER_SECONDS),
    },
    ...BY_STATUS.map(([status, kind]) => ({
      filter: on({ status_code_filter: { comparison: { op: 'EQ', value: { default_value: status, runtime_key: `meshgate.local_reply.${status}` } } } }),
      body_format_override: body(kind),
      ...retryAfter(kind.retryAfter),
    })),
  ];
}
