// ProcessingRequest in, ProcessingResponse out (envoy.service.ext_proc.v3), both by hand: the
// fields read where they lie (proto-reader.ts), the answers written into one reused buffer
// (proto-writer.ts), those that carry nothing but "go on" once.
import { EXT_AUTHZ_METADATA_NAMESPACE } from '../../shared/identity-headers.js';
import { ANSWER_METADATA_KEY, HOST_DIALECT_ATTRIBUTE, HOST_MODEL_ATTRIBUTE, LLM_METADATA_NAMESPACE, OPENAI_ANSWER, RESPONSE_ATTRIBUTES } from '../../shared/llm-gateway.js';
import { fixed64Key, lengthKey, ProtoError, ProtoReader, varintKey } from './proto-reader.js';
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

// ProcessingRequest's fields (envoy/service/ext_proc/v3/external_processor.proto) and those of the
// messages in it that the processor reads; the rest is skipped.
const REQUEST_HEADERS = lengthKey(2);
const RESPONSE_HEADERS = lengthKey(3);
const REQUEST_BODY = lengthKey(4);
const RESPONSE_BODY = lengthKey(5);
const REQUEST_TRAILERS = lengthKey(6);
const RESPONSE_TRAILERS = lengthKey(7);
const METADATA_CONTEXT = lengthKey(8);
const ATTRIBUTES = lengthKey(9);
/** HttpHeaders.headers (a HeaderMap), HeaderMap.headers (each a HeaderValue), Metadata.filter_metadata, Struct.fields, a map entry's key */
const FIRST = lengthKey(1);
/** HttpHeaders.end_of_stream */
const HEADERS_END = varintKey(3);
/** HttpBody.end_of_stream */
const BODY_END = varintKey(2);
/** HeaderValue.value, a map entry's value */
const SECOND = lengthKey(2);
/** HeaderValue.raw_value, Value.string_value */
const THIRD = lengthKey(3);
/** Value.number_value */
const NUMBER = fixed64Key(2);

type Fields = ReadonlyMap<string, string | number>;

/**
 * A map entry (its key field 1, its value field 2): the key, and the value as `read` makes it —
 * given the key read so far, which every encoder writes first.
 */
function mapEntry<T>(entry: ProtoReader, read: (value: ProtoReader, key: string | undefined) => T | undefined): [string, T | undefined] {
  let key: string | undefined;
  let value: T | undefined;
  while (!entry.done) {
    const k = entry.key();
    if (k === FIRST) key = entry.string();
    else if (k === SECOND) value = read(entry.sub(), key);
    else entry.skip(k);
  }
  return [key ?? '', value];
}

/** A Value that is a string or a number (the only kinds the gateway sends here). */
function scalarValue(v: ProtoReader): string | number | undefined {
  let value: string | number | undefined;
  while (!v.done) {
    const k = v.key();
    if (k === NUMBER) value = v.double();
    else if (k === THIRD) value = v.string();
    else v.skip(k);
  }
  return value;
}

/** A Struct's fields that hold a string or a number. */
function structFields(r: ProtoReader): Map<string, string | number> {
  const out = new Map<string, string | number>();
  r.each(FIRST, (entry) => {
    const [name, value] = mapEntry(entry, scalarValue);
    if (value !== undefined) out.set(name, value);
  });
  return out;
}

/** From a map<string, Struct> entry (attributes, filter_metadata): its Struct's fields when its key is `wanted`. */
function entryFields(entry: ProtoReader, wanted: string): Fields | undefined {
  const [name, fields] = mapEntry(entry, (value, key) => (key === undefined || key === wanted ? structFields(value) : undefined));
  return name === wanted ? (fields ?? new Map()) : undefined;
}

interface HeadersMessage {
  readonly headers: Map<string, string>;
  readonly endOfStream: boolean;
}

function headersMessage(r: ProtoReader): HeadersMessage {
  const headers = new Map<string, string>();
  let endOfStream = false;
  while (!r.done) {
    const key = r.key();
    if (key === HEADERS_END) endOfStream = r.varint() !== 0;
    else if (key === FIRST) {
      r.sub().each(FIRST, (h) => {
        let name = '';
        let value = '';
        let raw: string | undefined;
        while (!h.done) {
          const hk = h.key();
          if (hk === FIRST) name = h.string();
          else if (hk === SECOND) value = h.string();
          else if (hk === THIRD) {
            const [start, end] = h.span();
            // Envoy sends values as raw_value (bytes); the string field is for older peers.
            if (end > start) raw = h.buf.toString('latin1', start, end);
          } else h.skip(hk);
        }
        const v = raw ?? value;
        const had = headers.get(name);
        headers.set(name, had === undefined ? v : `${had},${v}`);
      });
    } else r.skip(key);
  }
  return { headers, endOfStream };
}

const EMPTY: Buffer = Buffer.alloc(0);

function bodyMessage(r: ProtoReader): { body: Buffer; endOfStream: boolean } {
  let body = EMPTY;
  let endOfStream = false;
  while (!r.done) {
    const key = r.key();
    if (key === FIRST) body = r.bytes();
    else if (key === BODY_END) endOfStream = r.varint() !== 0;
    else r.skip(key);
  }
  return { body, endOfStream };
}

export function decodePhase(bytes: Buffer): Phase {
  try {
    return readPhase(new ProtoReader(bytes));
  } catch (err) {
    return { kind: 'unreadable', reason: err instanceof ProtoError ? `a ProcessingRequest that is not protobuf: ${err.message}` : (err as Error).message };
  }
}

function readPhase(r: ProtoReader): Phase {
  // The phase (a oneof: the last one given wins) and its message where it lies.
  let phase: number | undefined;
  let message: ProtoReader | undefined;
  let authzFields: Fields | undefined;
  let attributes: Fields | undefined;
  while (!r.done) {
    const key = r.key();
    switch (key) {
      case REQUEST_HEADERS:
      case RESPONSE_HEADERS:
      case REQUEST_BODY:
      case RESPONSE_BODY:
      case REQUEST_TRAILERS:
      case RESPONSE_TRAILERS:
        phase = key;
        message = r.sub();
        break;
      case METADATA_CONTEXT:
        // ext-authz's answer (tenant, policy, request_log, model_priority, model_weight).
        r.sub().each(FIRST, (entry) => {
          authzFields = entryFields(entry, EXT_AUTHZ_METADATA_NAMESPACE) ?? authzFields;
        });
        break;
      case ATTRIBUTES:
        // By filter name: the attributes the filter was asked to send (request_attributes, response_attributes).
        attributes = entryFields(r.sub(), EXT_PROC_FILTER_NAME) ?? attributes;
        break;
      default:
        r.skip(key);
    }
  }
  const text = (f: Fields | undefined, name: string): string | undefined => {
    const v = f?.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  if (phase === REQUEST_HEADERS) {
    const weight = Number(text(authzFields, 'model_weight'));
    const priority = text(authzFields, 'model_priority');
    const authz: AuthzFacts | undefined = authzFields && {
      tenant: text(authzFields, 'tenant'),
      requestLog: text(authzFields, 'request_log') === 'on',
      ...(priority ? { priority } : {}),
      ...(Number.isInteger(weight) && weight >= 1 ? { weight } : {}),
    };
    const hostModel = text(attributes, HOST_MODEL_ATTRIBUTE);
    const hostDialect = text(attributes, HOST_DIALECT_ATTRIBUTE);
    return {
      kind: 'request_headers',
      ...headersMessage(message!),
      ...(authz ? { authz } : {}),
      ...(hostModel ? { hostModel } : {}),
      ...(hostDialect ? { hostDialect } : {}),
    };
  }
  if (phase === REQUEST_BODY) return { kind: 'request_body', ...bodyMessage(message!) };
  if (phase === RESPONSE_HEADERS) return { kind: 'response_headers', ...headersMessage(message!) };
  if (phase === RESPONSE_BODY) {
    const status = attributes?.get(RESPONSE_ATTRIBUTES.status);
    const facts = typeof status === 'number' ? { status, service: text(attributes, RESPONSE_ATTRIBUTES.service) ?? '' } : undefined;
    return { kind: 'response_body', ...bodyMessage(message!), ...(facts ? { facts } : {}) };
  }
  if (phase === REQUEST_TRAILERS || phase === RESPONSE_TRAILERS) return { kind: 'trailers' };
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
// by test/unit/ext-proc-wire.test.ts.
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
