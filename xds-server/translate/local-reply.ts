// Every reply Envoy makes up itself (no route, no healthy upstream, timeout, and later auth and
// rate-limit denials) leaves the gateway as JSON of one stable shape:
//   {"error": {"status": 503, "code": "no_healthy_upstream", "message": "…", "request_id": "…"}}
// Mappers are tried in order: a 2xx the gateway answers itself (a direct response) and the LLM
// processor's OpenAI-shaped errors as they are, then Envoy's response flags (they say why),
// then the status.
import { ANSWER_METADATA_KEY, LLM_METADATA_NAMESPACE, OPENAI_ANSWER } from '../../shared/llm-gateway.js';
import type { JsonObject } from '../../shared/proto/codec.js';

interface ReplyKind {
  readonly code: string;
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

const BY_FLAG: ReadonlyArray<readonly [flags: string[], kind: ReplyKind]> = [
  [['NR'], { code: 'route_not_found', message: 'no route matches this request' }],
  [['NC'], { code: 'service_not_found', message: 'the service for this route is not known' }],
  [['UH'], { code: 'no_healthy_upstream', message: 'no healthy instance of the service is available' }],
  [['UT'], { code: 'upstream_timeout', message: 'the service did not answer in time' }],
  [['UF', 'URX'], { code: 'upstream_unavailable', message: 'the service could not be reached' }],
  [['UO'], { code: 'upstream_overloaded', message: 'the service has too many requests in flight: try again after the time in Retry-After', retryAfter: RETRY_AFTER_SECONDS }],
  [['RL'], { code: 'rate_limited', message: 'too many requests: try again after the time in Retry-After', retryAfter: RATE_LIMIT_RETRY_AFTER }],
  [['RLSE'], { code: 'ratelimit_unavailable', message: 'the rate-limit service could not be asked, and this gateway fails closed', retryAfter: RETRY_AFTER_SECONDS }],
];

const BY_STATUS: ReadonlyArray<readonly [status: number, kind: ReplyKind]> = [
  [400, { code: 'bad_request' }],
  [401, { code: 'unauthenticated' }],
  [403, { code: 'forbidden' }],
  [404, { code: 'not_found' }],
  [408, { code: 'request_timeout' }],
  [409, { code: 'conflict' }],
  [413, { code: 'payload_too_large' }],
  [429, { code: 'rate_limited', retryAfter: RETRY_AFTER_SECONDS }],
  [431, { code: 'headers_too_large' }],
  [499, { code: 'cancelled' }],
  [500, { code: 'internal_error' }],
  [501, { code: 'not_implemented' }],
  [502, { code: 'bad_gateway' }],
  [503, { code: 'unavailable', retryAfter: RETRY_AFTER_SECONDS }],
  [504, { code: 'gateway_timeout' }],
];

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
    // ext_authz could not get an answer (fail closed): UAEX with the configured 503.
    {
      filter: {
        and_filter: {
          filters: [
            { response_flag_filter: { flags: ['UAEX'] } },
            { status_code_filter: { comparison: { op: 'EQ', value: { default_value: 503, runtime_key: 'meshgate.local_reply.authz_error' } } } },
          ],
        },
      },
      body: { inline_string: 'the authorization service is unavailable' },
      body_format_override: errorBody('auth_unavailable'),
      ...retryAfter(RETRY_AFTER_SECONDS),
    },
    // The overload manager's refusal (stop_accepting_requests, a load-shed point): Envoy sets no
    // response flag for it, but answers before it gives the request its id — no other 503 does.
    {
      filter: {
        and_filter: {
          filters: [
            { status_code_filter: { comparison: { op: 'EQ', value: { default_value: 503, runtime_key: 'meshgate.local_reply.overloaded' } } } },
            { header_filter: { header: { name: 'x-request-id', present_match: true, invert_match: true } } },
          ],
        },
      },
      body: { inline_string: 'the gateway is overloaded: try again after the time in Retry-After' },
      body_format_override: errorBody('gateway_overloaded'),
      ...retryAfter(RETRY_AFTER_SECONDS),
    },
    ...BY_FLAG.map(([flags, kind]) => ({
      filter: { response_flag_filter: { flags } },
      ...(kind.message ? { body: { inline_string: kind.message } } : {}),
      body_format_override: errorBody(kind.code),
      ...retryAfter(kind.retryAfter),
    })),
    ...BY_STATUS.map(([status, kind]) => ({
      filter: { status_code_filter: { comparison: { op: 'EQ', value: { default_value: status, runtime_key: `meshgate.local_reply.${status}` } } } },
      body_format_override: errorBody(kind.code),
      ...retryAfter(kind.retryAfter),
    })),
  ];
  return { mappers, body_format: errorBody('error') };
}
