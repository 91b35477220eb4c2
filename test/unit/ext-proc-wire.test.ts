// The processor's side of the ext_proc wire, by hand: Envoy's messages read where their fields lie
// (ext-proc/server/proto-reader.ts), written here with Envoy's own protos; and its answers
// (ext-proc/server/proto-writer.ts), each shape decoding to exactly what the general encoder makes
// of the same answer.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { BodySendMode, decodePhase, encodeContinue, encodeImmediate, encodeWaitLonger, EXT_PROC_PROTO, type Mutation, type ResponsePhase } from '../../ext-proc/server/codec.js';
import { ProtoWriter } from '../../ext-proc/server/proto-writer.js';
import { decodeMessage, encodeMessage, type JsonObject } from '../../shared/proto/codec.js';
import { loadEnvoyProtos } from '../../shared/proto/root.js';
import { EXT_AUTHZ_METADATA_NAMESPACE } from '../../shared/identity-headers.js';
import { HOST_MODEL_ATTRIBUTE, RESPONSE_ATTRIBUTES } from '../../shared/llm-gateway.js';

const RESPONSE = 'envoy.service.ext_proc.v3.ProcessingResponse';
const decode = (b: Uint8Array): JsonObject => decodeMessage(RESPONSE, b);
const headerOptions = (set: ReadonlyArray<readonly [string, string]>) =>
  set.map(([key, value]) => ({ header: { key, raw_value: Buffer.from(value, 'latin1').toString('base64') }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }));

/** The same answer as the general encoder (protobufjs over the descriptors) writes it. */
function reference(phase: ResponsePhase, m: Mutation): JsonObject {
  const common: JsonObject = {};
  if (m.setHeaders?.length || m.removeHeaders?.length) common['header_mutation'] = { set_headers: headerOptions(m.setHeaders ?? []), remove_headers: [...(m.removeHeaders ?? [])] };
  if (m.body) common['body_mutation'] = m.body.length ? { body: m.body.toString('base64') } : { clear_body: true };
  if (m.clearRouteCache) common['clear_route_cache'] = true;
  const response: JsonObject = { [phase]: phase.endsWith('trailers') ? {} : { response: common } };
  // (A Struct in proto3's JSON form is the plain object.)
  if (m.metadata) response['dynamic_metadata'] = m.metadata as JsonObject;
  if (m.responseBodyMode !== undefined) response['mode_override'] = { response_body_mode: m.responseBodyMode === BodySendMode.STREAMED ? 'STREAMED' : m.responseBodyMode === BodySendMode.BUFFERED ? 'BUFFERED' : 'NONE' };
  return decode(encodeMessage(RESPONSE, response));
}

const SHAPES: Array<[ResponsePhase, Mutation]> = [
  ['request_headers', {}],
  ['response_body', {}],
  ['request_trailers', {}],
  ['response_trailers', {}],
  ['request_body', { setHeaders: [['x-meshgate-model', 'llama'], ['content-length', '1234']], body: Buffer.from('{"model":"llama"}'), clearRouteCache: true, metadata: { 'meshgate.llm': { model: 'llama', requested_model: 'chat', prompt_tokens: 3, cost: 0.25 } } }],
  ['request_body', { setHeaders: [['x-meshgate-model', 'llama']], clearRouteCache: true, metadata: { 'meshgate.llm': { model: 'llama' }, other: { n: -1.5 } } }],
  ['response_headers', { responseBodyMode: BodySendMode.STREAMED, removeHeaders: ['content-length'] }],
  ['response_headers', { responseBodyMode: BodySendMode.NONE }],
  ['response_body', { body: Buffer.alloc(0) }],
  // Lengths past one byte (128) and two bytes (16,384): a nested message's length moves its bytes on.
  ['response_body', { body: Buffer.alloc(200, 0x61), metadata: { 'meshgate.llm': { text: 'é'.repeat(70_000) } } }],
  ['request_headers', { setHeaders: [['x-latin1', 'caf\u00e9 \u00ff'], ['x-empty', '']] }],
];

describe('the processor’s answers, written by hand', () => {
  before(() => loadEnvoyProtos([EXT_PROC_PROTO]));

  it('decode to what the general encoder writes, shape by shape', () => {
    for (const [phase, m] of SHAPES) assert.deepEqual(decode(encodeContinue(phase, m)), reference(phase, m), `${phase} ${JSON.stringify(Object.keys(m))}`);
  });

  it('an immediate answer: status, JSON content type and the extra headers, body, details, and the metadata that marks it', () => {
    const body = Buffer.from('{"error":{"message":"no"}}');
    const got = decode(encodeImmediate(429, body, [['retry-after', '1']], 'pool_saturated', { model: 'llama' }));
    const want = decode(
      encodeMessage(RESPONSE, {
        immediate_response: { status: { code: 429 }, headers: { set_headers: headerOptions([['content-type', 'application/json'], ['retry-after', '1']]) }, body: body.toString('base64'), details: 'pool_saturated' },
        dynamic_metadata: { 'meshgate.llm': { model: 'llama', answer: 'openai' } },
      }),
    );
    assert.deepEqual(got, want);
  });

  it('"wait longer": the whole seconds and the rest in nanoseconds', () => {
    assert.deepEqual(decode(encodeWaitLonger(6_250)), { override_message_timeout: '6.25s' });
  });

  it('a reused writer starts each message afresh and grows past its first buffer', () => {
    const w = new ProtoWriter();
    const big = w.reset().begin(1).bytes(1, Buffer.alloc(10_000, 1)).end().finish();
    assert.equal(big.length, 1 + 2 + 1 + 2 + 10_000);
    const small = w.reset().uint(1, 300).finish();
    assert.deepEqual([...small], [0x08, 0xac, 0x02]);
    assert.throws(() => w.reset().begin(1).finish(), /still open/);
  });
});

describe('Envoy’s messages, read by hand', () => {
  before(() => loadEnvoyProtos([EXT_PROC_PROTO]));
  const request = (json: JsonObject): Buffer => Buffer.from(encodeMessage('envoy.service.ext_proc.v3.ProcessingRequest', json));
  const raw = (v: string): string => Buffer.from(v, 'latin1').toString('base64');
  const headerMap = (h: Array<[string, string, 'raw' | 'value']>) => ({ headers: h.map(([key, v, how]) => (how === 'raw' ? { key, raw_value: raw(v) } : { key, value: v })) });

  it('request headers: raw and string values, a repeated header joined, the end, ext-authz’s facts and the upstream host’s attributes', () => {
    const phase = decodePhase(
      request({
        request_headers: { headers: headerMap([[':path', '/v1/chat/completions', 'raw'], ['x-old', 'text', 'value'], ['x-dup', 'a', 'raw'], ['x-dup', 'caf\u00e9', 'raw']]), end_of_stream: true },
        metadata_context: { filter_metadata: { other: { tenant: 'not-this-one' }, [EXT_AUTHZ_METADATA_NAMESPACE]: { tenant: 'acme', request_log: 'on', model_priority: 'critical', model_weight: '3', policy: 'p' } } },
        attributes: { 'envoy.filters.http.ext_proc': { [HOST_MODEL_ATTRIBUTE]: 'llama-local' }, 'another.filter': { [HOST_MODEL_ATTRIBUTE]: 'no' } },
        observability_mode: true,
        protocol_config: { request_body_mode: 'BUFFERED' },
      }),
    );
    assert.deepEqual(phase, {
      kind: 'request_headers',
      headers: new Map([[':path', '/v1/chat/completions'], ['x-old', 'text'], ['x-dup', 'a,caf\u00e9']]),
      endOfStream: true,
      authz: { tenant: 'acme', requestLog: true, priority: 'critical', weight: 3 },
      hostModel: 'llama-local',
    });
  });

  it('request headers without ext-authz’s metadata carry no facts; a weight that is not a whole number ≥ 1 is left out', () => {
    assert.deepEqual(decodePhase(request({ request_headers: { headers: headerMap([[':path', '/v1/embeddings', 'raw']]) } })), { kind: 'request_headers', headers: new Map([[':path', '/v1/embeddings']]), endOfStream: false });
    const weightless = decodePhase(request({ request_headers: {}, metadata_context: { filter_metadata: { [EXT_AUTHZ_METADATA_NAMESPACE]: { model_weight: '0.5' } } } }));
    assert.deepEqual(weightless, { kind: 'request_headers', headers: new Map(), endOfStream: false, authz: { tenant: undefined, requestLog: false } });
  });

  it('bodies: the bytes, the end, and with the answer’s first chunk its status and service', () => {
    const body = Buffer.from('{"model":"llama"}');
    const got = decodePhase(request({ request_body: { body: body.toString('base64'), end_of_stream: true } }));
    assert.equal(got.kind, 'request_body');
    assert.deepEqual(got.kind === 'request_body' && [got.body.toString(), got.endOfStream], ['{"model":"llama"}', true]);
    const chunk = decodePhase(request({ response_body: { body: body.toString('base64') }, attributes: { 'envoy.filters.http.ext_proc': { [RESPONSE_ATTRIBUTES.status]: 200, [RESPONSE_ATTRIBUTES.service]: 'svc' } } }));
    assert.deepEqual(chunk, { kind: 'response_body', body, endOfStream: false, facts: { status: 200, service: 'svc' } });
    assert.deepEqual(decodePhase(request({ response_body: { end_of_stream: true } })), { kind: 'response_body', body: Buffer.alloc(0), endOfStream: true });
  });

  it('answer headers and trailers', () => {
    assert.deepEqual(decodePhase(request({ response_headers: { headers: headerMap([[':status', '429', 'raw']]), end_of_stream: true } })), { kind: 'response_headers', headers: new Map([[':status', '429']]), endOfStream: true });
    assert.deepEqual(decodePhase(request({ request_trailers: {} })), { kind: 'trailers' });
    assert.deepEqual(decodePhase(request({ response_trailers: { trailers: headerMap([['grpc-status', '0', 'raw']]) } })), { kind: 'trailers' });
  });

  it('what is not a message of a phase is unreadable, with the reason', () => {
    assert.deepEqual(decodePhase(request({ observability_mode: true })), { kind: 'unreadable', reason: 'a ProcessingRequest with no phase set' });
    const whole = request({ request_body: { body: Buffer.from('{"model":"llama"}').toString('base64'), end_of_stream: true } });
    for (const bad of [whole.subarray(0, whole.length - 3), Buffer.from([0x22, 0x80]), Buffer.from([0x23, 0x00])]) {
      const p = decodePhase(bad);
      assert.equal(p.kind, 'unreadable', bad.toString('hex'));
      assert.match(p.kind === 'unreadable' ? p.reason : '', /not protobuf/);
    }
  });
});
