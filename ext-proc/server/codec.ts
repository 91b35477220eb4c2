// ProcessingRequest in, ProcessingResponse out (envoy.service.ext_proc.v3), on the protobufjs
// root. The answers that carry nothing but "go on" are encoded once.
import type protobuf from 'protobufjs';
import { EXT_AUTHZ_METADATA_NAMESPACE } from '../../shared/identity-headers.js';
import { ANSWER_METADATA_KEY, HOST_DIALECT_ATTRIBUTE, HOST_MODEL_ATTRIBUTE, LLM_METADATA_NAMESPACE, OPENAI_ANSWER, RESPONSE_ATTRIBUTES } from '../../shared/llm-gateway.js';
import { messageType } from '../../shared/proto/root.js';

export const EXT_PROC_PROTO = 'envoy/service/ext_proc/v3/external_processor.proto';
export const EXTERNAL_PROCESSOR_SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';
/** The key Envoy files a filter's request attributes under. */
const EXT_PROC_FILTER_NAME = 'envoy.filters.http.ext_proc';

/** What ext-authz established for the call, forwarded from its dynamic metadata. */
export interface AuthzFacts {
  readonly tenant: string | undefined;
  /** The caller's policy asks for its calls to be logged (policy `request_log: true`). */
  readonly requestLog: boolean;
  /** The policy's `model_priority` in a saturated model pool. */
  readonly priority?: string;
  /** The policy's `model_weight`: its tenants' share of a saturated pool. */
  readonly weight?: number;
}

/** What an answer's headers say, sent with its first chunk when its headers are not (RESPONSE_ATTRIBUTES). */
export interface ResponseFacts {
  readonly status: number;
  readonly service: string;
}

/** One message of Envoy's, by what it carries. */
export type Phase =
  | {
      readonly kind: 'request_headers';
      readonly headers: ReadonlyMap<string, string>;
      readonly endOfStream: boolean;
      readonly authz?: AuthzFacts;
      /** On the upstream stage: the picked instance's own name for the model, when it has one. */
      readonly hostModel?: string;
      /** On the upstream stage: the dialect the picked instance speaks, for a model whose services differ. */
      readonly hostDialect?: string;
    }
  | { readonly kind: 'request_body'; readonly body: Buffer; readonly endOfStream: boolean }
  | { readonly kind: 'response_headers'; readonly headers: ReadonlyMap<string, string>; readonly endOfStream: boolean }
  | { readonly kind: 'response_body'; readonly body: Buffer; readonly endOfStream: boolean; readonly facts?: ResponseFacts }
  | { readonly kind: 'trailers' }
  | { readonly kind: 'unreadable'; readonly reason: string };

interface RawHeaders {
  headers?: { headers?: Array<{ key: string; value?: string; raw_value?: Uint8Array }> };
  end_of_stream?: boolean;
}
interface RawBody {
  body?: Uint8Array;
  end_of_stream?: boolean;
}
interface RawStruct {
  fields?: Record<string, { string_value?: string; number_value?: number }>;
}
interface RawRequest {
  metadata_context?: { filter_metadata?: Record<string, RawStruct> };
  /** By filter name: the attributes the filter was asked to send (request_attributes). */
  attributes?: Record<string, RawStruct>;
  request_headers?: RawHeaders;
  response_headers?: RawHeaders;
  request_body?: RawBody;
  response_body?: RawBody;
  request_trailers?: unknown;
  response_trailers?: unknown;
}

let requestType: protobuf.Type | undefined;
let responseType: protobuf.Type | undefined;

function headerMap(raw: RawHeaders): Map<string, string> {
  const out = new Map<string, string>();
  for (const h of raw.headers?.headers ?? []) {
    // Envoy sends values as raw_value (bytes); the string field is for older peers.
    const value = h.raw_value instanceof Uint8Array && h.raw_value.length ? Buffer.from(h.raw_value.buffer, h.raw_value.byteOffset, h.raw_value.length).toString('latin1') : (h.value ?? '');
    const had = out.get(h.key);
    out.set(h.key, had === undefined ? value : `${had},${value}`);
  }
  return out;
}

const EMPTY = Buffer.alloc(0);
// protobufjs leaves an unset bytes field as its default, an empty array.
const asBuffer = (b: Uint8Array | undefined): Buffer => (b instanceof Uint8Array && b.length ? Buffer.from(b.buffer, b.byteOffset, b.length) : EMPTY);

export function decodePhase(bytes: Buffer): Phase {
  requestType ??= messageType('envoy.service.ext_proc.v3.ProcessingRequest');
  let m: RawRequest;
  try {
    m = requestType.decode(bytes) as unknown as RawRequest;
  } catch (err) {
    return { kind: 'unreadable', reason: (err as Error).message };
  }
  const attributes = m.attributes?.[EXT_PROC_FILTER_NAME]?.fields;
  if (m.request_headers) {
    const fields = m.metadata_context?.filter_metadata?.[EXT_AUTHZ_METADATA_NAMESPACE]?.fields;
    const weight = Number(fields?.['model_weight']?.string_value);
    const authz: AuthzFacts | undefined = fields && {
      tenant: fields['tenant']?.string_value,
      requestLog: fields['request_log']?.string_value === 'on',
      ...(fields['model_priority']?.string_value ? { priority: fields['model_priority'].string_value } : {}),
      ...(Number.isInteger(weight) && weight >= 1 ? { weight } : {}),
    };
    const hostModel = attributes?.[HOST_MODEL_ATTRIBUTE]?.string_value;
    const hostDialect = attributes?.[HOST_DIALECT_ATTRIBUTE]?.string_value;
    return {
      kind: 'request_headers',
      headers: headerMap(m.request_headers),
      endOfStream: m.request_headers.end_of_stream === true,
      ...(authz ? { authz } : {}),
      ...(hostModel ? { hostModel } : {}),
      ...(hostDialect ? { hostDialect } : {}),
    };
  }
  if (m.request_body) return { kind: 'request_body', body: asBuffer(m.request_body.body), endOfStream: m.request_body.end_of_stream === true };
  if (m.response_headers) return { kind: 'response_headers', headers: headerMap(m.response_headers), endOfStream: m.response_headers.end_of_stream === true };
  if (m.response_body) {
    const status = attributes?.[RESPONSE_ATTRIBUTES.status]?.number_value;
    const facts = status === undefined ? undefined : { status, service: attributes?.[RESPONSE_ATTRIBUTES.service]?.string_value ?? '' };
    return { kind: 'response_body', body: asBuffer(m.response_body.body), endOfStream: m.response_body.end_of_stream === true, ...(facts ? { facts } : {}) };
  }
  if (m.request_trailers || m.response_trailers) return { kind: 'trailers' };
  return { kind: 'unreadable', reason: 'a ProcessingRequest with no phase set' };
}

// Enum values of the ext_proc API.
export const BodySendMode = { NONE: 0, STREAMED: 1, BUFFERED: 2 } as const;
const OVERWRITE_IF_EXISTS_OR_ADD = 2;

export type ResponsePhase = 'request_headers' | 'response_headers' | 'request_body' | 'response_body' | 'request_trailers' | 'response_trailers';

export interface Mutation {
  readonly setHeaders?: ReadonlyArray<readonly [string, string]>;
  readonly removeHeaders?: readonly string[];
  /** The new body (empty clears it). */
  readonly body?: Buffer;
  readonly clearRouteCache?: boolean;
  /** Dynamic metadata, namespace → fields (strings and numbers). */
  readonly metadata?: Readonly<Record<string, Readonly<Record<string, string | number>>>>;
  readonly responseBodyMode?: number;
}

function structOf(fields: Readonly<Record<string, string | number>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = typeof v === 'number' ? { number_value: v } : { string_value: v };
  return { fields: out };
}

function encode(response: Record<string, unknown>): Buffer {
  responseType ??= messageType('envoy.service.ext_proc.v3.ProcessingResponse');
  return Buffer.from(responseType.encode(response as never).finish());
}

/** The answer to one phase: go on, with what to change. */
export function encodeContinue(phase: ResponsePhase, m: Mutation = {}): Buffer {
  const common: Record<string, unknown> = {};
  if (m.setHeaders?.length || m.removeHeaders?.length) {
    common['header_mutation'] = {
      set_headers: (m.setHeaders ?? []).map(([key, value]) => ({ header: { key, raw_value: Buffer.from(value, 'latin1') }, append_action: OVERWRITE_IF_EXISTS_OR_ADD })),
      remove_headers: m.removeHeaders ?? [],
    };
  }
  if (m.body) common['body_mutation'] = m.body.length ? { body: m.body } : { clear_body: true };
  if (m.clearRouteCache) common['clear_route_cache'] = true;
  const response: Record<string, unknown> = { [phase]: phase.endsWith('trailers') ? {} : { response: common } };
  if (m.metadata) response['dynamic_metadata'] = { fields: Object.fromEntries(Object.entries(m.metadata).map(([ns, f]) => [ns, { struct_value: structOf(f) }])) };
  if (m.responseBodyMode !== undefined) response['mode_override'] = { response_body_mode: m.responseBodyMode };
  return encode(response);
}

/**
 * "Wait this long for my next answer" (ProcessingResponse.override_message_timeout): sent when a
 * call waits for room in its model pool, longer than the filter's message_timeout. Envoy takes
 * it up to the filter's max_message_timeout.
 */
export function encodeWaitLonger(ms: number): Buffer {
  return encode({ override_message_timeout: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 } });
}

const CONTINUE = new Map<ResponsePhase, Buffer>();
/** "Go on, nothing changed": encoded once per phase. */
export function plainContinue(phase: ResponsePhase): Buffer {
  let b = CONTINUE.get(phase);
  if (!b) CONTINUE.set(phase, (b = encodeContinue(phase)));
  return b;
}

/** Answer the HTTP request now, from the gateway, with a JSON body (marked, so that the gateway's local-reply mapping lets it through as it is). */
export function encodeImmediate(
  status: number,
  body: Buffer,
  headers: ReadonlyArray<readonly [string, string]> = [],
  details = '',
  metadata: Readonly<Record<string, string | number>> = {},
): Buffer {
  return encode({
    dynamic_metadata: { fields: { [LLM_METADATA_NAMESPACE]: { struct_value: structOf({ ...metadata, [ANSWER_METADATA_KEY]: OPENAI_ANSWER }) } } },
    immediate_response: {
      status: { code: status },
      headers: { set_headers: [['content-type', 'application/json'], ...headers].map(([key, value]) => ({ header: { key, raw_value: Buffer.from(value, 'latin1') }, append_action: OVERWRITE_IF_EXISTS_OR_ADD })) },
      body,
      details,
    },
  });
}
