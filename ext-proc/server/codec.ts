// ProcessingRequest in (on the protobufjs root), ProcessingResponse out (envoy.service.ext_proc.v3):
// the answers written by hand (proto-writer.ts), those that carry nothing but "go on" once.
import type protobuf from 'protobufjs';
import { EXT_AUTHZ_METADATA_NAMESPACE } from '../../shared/identity-headers.js';
import { ANSWER_METADATA_KEY, HOST_DIALECT_ATTRIBUTE, HOST_MODEL_ATTRIBUTE, LLM_METADATA_NAMESPACE, OPENAI_ANSWER, RESPONSE_ATTRIBUTES } from '../../shared/llm-gateway.js';
import { messageType } from '../../shared/proto/root.js';
import { ProtoWriter } from './proto-writer.js';

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

// Field numbers of the answers written by hand (envoy/service/ext_proc/v3/external_processor.proto,
// envoy/config/core/v3/base.proto, google/protobuf/struct.proto), checked against the descriptors
// by test/unit/ext-proc-answers.test.ts.
const PHASE_FIELD: Readonly<Record<ResponsePhase, number>> = {
  request_headers: 1,
  response_headers: 2,
  request_body: 3,
  response_body: 4,
  request_trailers: 5,
  response_trailers: 6,
};
const F = {
  immediateResponse: 7,
  dynamicMetadata: 8,
  modeOverride: 9,
  overrideMessageTimeout: 10,
  /** Duration */
  seconds: 1,
  nanos: 2,
  /** HeadersResponse.response, BodyResponse.response */
  common: 1,
  /** CommonResponse */
  headerMutation: 2,
  bodyMutation: 3,
  clearRouteCache: 5,
  /** HeaderMutation */
  setHeaders: 1,
  removeHeaders: 2,
  /** HeaderValueOption */
  header: 1,
  appendAction: 3,
  /** HeaderValue */
  key: 1,
  rawValue: 3,
  /** BodyMutation */
  body: 1,
  clearBody: 2,
  /** ProcessingMode */
  responseBodyMode: 4,
  /** ImmediateResponse: HttpStatus status, HeaderMutation headers, bytes body, string details */
  status: 1,
  headers: 2,
  immediateBody: 3,
  details: 5,
  /** HttpStatus, Struct's map entries (key, value), Value */
  code: 1,
  entry: 1,
  entryKey: 1,
  entryValue: 2,
  numberValue: 2,
  stringValue: 3,
  structValue: 5,
} as const;

const writer = new ProtoWriter();

function headerMutation(w: ProtoWriter, field: number, set: ReadonlyArray<readonly [string, string]>, remove: readonly string[]): void {
  w.begin(field);
  for (const [key, value] of set) w.begin(F.setHeaders).begin(F.header).string(F.key, key).string(F.rawValue, value, 'latin1').end().uint(F.appendAction, OVERWRITE_IF_EXISTS_OR_ADD).end();
  for (const name of remove) w.string(F.removeHeaders, name);
  w.end();
}

/** ProcessingResponse.dynamic_metadata: namespace → a Struct of strings and numbers. */
function dynamicMetadata(w: ProtoWriter, metadata: Readonly<Record<string, Readonly<Record<string, string | number>>>>): void {
  w.begin(F.dynamicMetadata);
  for (const ns in metadata) {
    w.begin(F.entry).string(F.entryKey, ns).begin(F.entryValue).begin(F.structValue);
    const fields = metadata[ns]!;
    for (const k in fields) {
      const v = fields[k]!;
      w.begin(F.entry).string(F.entryKey, k).begin(F.entryValue);
      if (typeof v === 'number') w.double(F.numberValue, v);
      else w.string(F.stringValue, v);
      w.end().end();
    }
    w.end().end().end();
  }
  w.end();
}

/** The answer to one phase: go on, with what to change. */
export function encodeContinue(phase: ResponsePhase, m: Mutation = {}): Buffer {
  const w = writer.reset().begin(PHASE_FIELD[phase]);
  if (!phase.endsWith('trailers')) {
    w.begin(F.common);
    if (m.setHeaders?.length || m.removeHeaders?.length) headerMutation(w, F.headerMutation, m.setHeaders ?? [], m.removeHeaders ?? []);
    if (m.body) {
      w.begin(F.bodyMutation);
      if (m.body.length) w.bytes(F.body, m.body);
      else w.flag(F.clearBody, true);
      w.end();
    }
    w.flag(F.clearRouteCache, m.clearRouteCache);
    w.end();
  }
  w.end();
  if (m.metadata) dynamicMetadata(w, m.metadata);
  if (m.responseBodyMode !== undefined) w.begin(F.modeOverride).uint(F.responseBodyMode, m.responseBodyMode).end();
  return w.finish();
}

/**
 * "Wait this long for my next answer" (ProcessingResponse.override_message_timeout): sent when a
 * call waits for room in its model pool, longer than the filter's message_timeout. Envoy takes
 * it up to the filter's max_message_timeout.
 */
export function encodeWaitLonger(ms: number): Buffer {
  return writer.reset().begin(F.overrideMessageTimeout).uint(F.seconds, Math.floor(ms / 1000)).uint(F.nanos, (ms % 1000) * 1e6).end().finish();
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
  const w = writer.reset().begin(F.immediateResponse).begin(F.status).uint(F.code, status).end();
  headerMutation(w, F.headers, [['content-type', 'application/json'], ...headers], []);
  w.bytes(F.immediateBody, body).string(F.details, details).end();
  dynamicMetadata(w, { [LLM_METADATA_NAMESPACE]: { ...metadata, [ANSWER_METADATA_KEY]: OPENAI_ANSWER } });
  return w.finish();
}
