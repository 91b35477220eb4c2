// The processor's answers are written by hand (ext-proc/server/proto-writer.ts): each shape must
// decode, with Envoy's own protos, to exactly what the general encoder makes of the same answer.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { BodySendMode, encodeContinue, encodeImmediate, encodeWaitLonger, EXT_PROC_PROTO, type Mutation, type ResponsePhase } from '../../ext-proc/server/codec.js';
import { ProtoWriter } from '../../ext-proc/server/proto-writer.js';
import { decodeMessage, encodeMessage, type JsonObject } from '../../shared/proto/codec.js';
import { loadEnvoyProtos } from '../../shared/proto/root.js';

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
