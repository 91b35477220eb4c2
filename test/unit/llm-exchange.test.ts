// One HTTP call through the LLM processor, phase by phase, as Envoy's ext_proc stream brings it:
// the encoded answers decoded back with Envoy's own protos.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { CallRecord } from '../../ext-proc/engine/call-record.js';
import { Exchange } from '../../ext-proc/engine/exchange.js';
import { parseModelTable, ModelTables } from '../../ext-proc/engine/model-table.js';
import { decodePhase, EXT_PROC_PROTO, type Phase } from '../../ext-proc/server/codec.js';
import { decodeMessage, encodeMessage, type JsonObject } from '../../shared/proto/codec.js';
import { loadEnvoyProtos } from '../../shared/proto/root.js';
import { RESPONSE_ATTRIBUTES } from '../../shared/llm-gateway.js';

const TABLE = parseModelTable(JSON.stringify({ models: ['llama', 'qwen'], aliases: { 'chat-default': [['qwen', 1]] }, logged: ['svc'] }));
const SETTINGS = { maxRequestBytes: 1 << 20, maxResponseBytes: 1 << 20, tenantHeader: 'x-auth-tenant', now: () => 1_000, logFieldBytes: 1024 };

const headers = (h: Record<string, string>): Map<string, string> => new Map(Object.entries(h));
const answer = (b: Buffer | Promise<Buffer>): JsonObject => {
  assert.ok(Buffer.isBuffer(b), 'answered at once (no cache here)');
  return decodeMessage('envoy.service.ext_proc.v3.ProcessingResponse', b);
};
const body = (text: string, eos = true): Phase => ({ kind: 'request_body', body: Buffer.from(text), endOfStream: eos });
const responseBody = (text: string, eos: boolean): Phase => ({ kind: 'response_body', body: Buffer.from(text), endOfStream: eos });

function call(records: CallRecord[] = []): Exchange {
  const x = new Exchange(TABLE, SETTINGS, (r) => records.push(r));
  x.handle({ kind: 'request_headers', headers: headers({ ':path': '/v1/chat/completions', 'x-auth-tenant': 'acme', 'x-request-id': 'r1' }), endOfStream: false });
  return x;
}

type Common = { header_mutation?: { set_headers?: Array<{ header: { key: string; raw_value: string } }>; remove_headers?: string[] }; body_mutation?: { body?: string }; clear_route_cache?: boolean };
const common = (a: JsonObject, phase: string): Common => ((a[phase] as { response?: Common } | undefined)?.response ?? {}) as Common;
const setHeaders = (c: Common): Record<string, string> =>
  Object.fromEntries((c.header_mutation?.set_headers ?? []).map((h) => [h.header.key, Buffer.from(h.header.raw_value, 'base64').toString()]));
const metadataOf = (a: JsonObject): Record<string, unknown> => (a['dynamic_metadata'] as Record<string, Record<string, unknown>> | undefined)?.['meshgate.llm'] ?? {};

describe('LLM processor: one call, phase by phase', () => {
  before(() => loadEnvoyProtos([EXT_PROC_PROTO]));

  it('routes a plain call by its model without touching the body, and files its tokens when the answer ends', () => {
    const records: CallRecord[] = [];
    const x = call(records);
    const routed = answer(x.handle(body('{"model":"llama","messages":[{"role":"user","content":"hi"}]}')));
    const c = common(routed, 'request_body');
    assert.equal(c.clear_route_cache, true);
    assert.deepEqual(setHeaders(c), { 'x-meshgate-model': 'llama' });
    assert.equal(c.body_mutation, undefined, 'the caller’s bytes go on');
    assert.deepEqual(metadataOf(routed), { model: 'llama', requested_model: 'llama' });
    x.handle({ kind: 'response_headers', headers: headers({ ':status': '200', 'x-meshgate-service': 'svc' }), endOfStream: false });
    // The answer in two chunks: usage read from the whole.
    assert.equal(metadataOf(answer(x.handle(responseBody('{"choices":[{"message":{"content":"hello"}}],', false)))).model, undefined);
    const done = answer(x.handle(responseBody('"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}', true)));
    assert.deepEqual(metadataOf(done), { model: 'llama', requested_model: 'llama', service: 'svc', prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
    assert.equal(records.length, 1);
    assert.deepEqual([records[0]!.tenant, records[0]!.service, records[0]!.status, records[0]!.usage?.totalTokens], ['acme', 'svc', 200, 8]);
  });

  it('resolves an alias, asks a stream for usage, and takes the usage chunk out of what the caller gets', () => {
    const x = call();
    const routed = common(answer(x.handle(body('{"model":"chat-default","stream":true,"messages":[]}'))), 'request_body');
    const sent = JSON.parse(Buffer.from(routed.body_mutation!.body!, 'base64').toString()) as Record<string, unknown>;
    assert.deepEqual([sent['model'], sent['stream_options']], ['qwen', { include_usage: true }]);
    assert.equal(setHeaders(routed)['content-length'], String(Buffer.byteLength(JSON.stringify(sent))));
    const head = common(answer(x.handle({ kind: 'response_headers', headers: headers({ ':status': '200' }), endOfStream: false })), 'response_headers');
    assert.deepEqual(head.header_mutation?.remove_headers, ['content-length'], 'the length changes');
    const chunk = 'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n';
    const usage = 'data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}\n\n';
    const first = common(answer(x.handle(responseBody(chunk + usage.slice(0, 20), false))), 'response_body');
    assert.equal(Buffer.from(first.body_mutation!.body!, 'base64').toString(), chunk);
    const last = answer(x.handle(responseBody(usage.slice(20) + 'data: [DONE]\n\n', true)));
    assert.equal(Buffer.from(common(last, 'response_body').body_mutation!.body!, 'base64').toString(), 'data: [DONE]\n\n');
    assert.equal(metadataOf(last)['total_tokens'], 3);
  });

  it('reads the status and the service from the first chunk’s attributes when the answer’s headers are not sent (the gateway’s way)', () => {
    const records: CallRecord[] = [];
    const x = call(records);
    x.handle(body('{"model":"llama","messages":[{"role":"user","content":"hi"}]}'));
    const usage = '{"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}';
    const done = answer(x.handle({ kind: 'response_body', body: Buffer.from(usage), endOfStream: true, facts: { status: 200, service: 'svc' } }));
    assert.deepEqual(metadataOf(done), { model: 'llama', requested_model: 'llama', service: 'svc', prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 });
    assert.deepEqual([records[0]!.status, records[0]!.service], [200, 'svc']);
    // An answer without a body sends no chunk: the call is reported when Envoy ends the stream, once.
    const quiet: CallRecord[] = [];
    const y = call(quiet);
    y.handle(body('{"model":"llama","messages":[]}'));
    y.end();
    y.end();
    assert.equal(quiet.length, 1);
  });

  it('reserves a call’s bound under a fresh call id when budgets are in force, and files what it used (and cost) at the end', () => {
    const table = parseModelTable(JSON.stringify({ models: ['llama', 'free'], aliases: {}, prices: { llama: [2, 10] }, budgets: { defaultMaxTokens: 100 } }));
    const records: CallRecord[] = [];
    const run = (text: string, usage: string | undefined, status = 200): { reserved: Record<string, unknown>; done: Record<string, unknown> } => {
      const x = new Exchange(table, SETTINGS, (r) => records.push(r));
      x.handle({ kind: 'request_headers', headers: headers({ ':path': '/v1/chat/completions' }), endOfStream: false });
      const reserved = metadataOf(answer(x.handle(body(text))));
      const done = metadataOf(answer(x.handle({ kind: 'response_body', body: Buffer.from(usage ?? '{"error":{}}'), endOfStream: true, facts: { status, service: 'svc' } })));
      return { reserved, done };
    };
    const capped = '{"model":"llama","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}';
    const a = run(capped, '{"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}');
    assert.match(String(a.reserved['budget_call']), /^[A-Za-z0-9_-]{16}$/);
    // The body's bytes bound the prompt; max_tokens bounds the answer; the price per million makes micro-units.
    const bound = Buffer.byteLength(capped) + 20;
    assert.deepEqual([a.reserved['reserve_tokens'], a.reserved['charge_tokens']], [bound, bound]);
    assert.deepEqual([a.reserved['reserve_cost_micros'], a.reserved['charge_cost_micros']], [Buffer.byteLength(capped) * 2 + 20 * 10, Buffer.byteLength(capped) * 2 + 20 * 10]);
    assert.deepEqual([a.done['charge_tokens'], a.done['charge_cost_micros'], a.done['cost']], [13, 9 * 2 + 4 * 10, 58e-6]);
    assert.equal(records[0]!.costMicros, 58);
    const b = run('{"model":"llama","messages":[]}', undefined, 503);
    assert.notEqual(b.reserved['budget_call'], a.reserved['budget_call'], 'each call its own id');
    assert.equal(b.reserved['reserve_tokens'], Buffer.byteLength('{"model":"llama","messages":[]}') + 100, 'no max_tokens: the default');
    assert.deepEqual([b.done['charge_tokens'], b.done['charge_cost_micros']], [0, 0], 'a failed call costs nothing');
    const c = run('{"model":"free","messages":[]}', '{"choices":[]}');
    assert.equal(c.reserved['reserve_cost_micros'], undefined, 'no price, no cost');
    assert.equal(c.done['charge_tokens'], c.reserved['reserve_tokens'], 'a success without usage keeps its reservation');
  });

  it('files a cache miss in the routed answer’s metadata, which the model route answers with', () => {
    const store = new Map<string, Buffer>();
    const x = new Exchange(TABLE, { ...SETTINGS, cache: { store: { get: (k: string) => store.get(k), set: (k: string, v: Buffer) => void store.set(k, v) } as never, maxEntryBytes: 1 << 20, onLookup: () => undefined } }, () => undefined);
    x.handle({ kind: 'request_headers', headers: headers({ ':path': '/v1/embeddings', 'x-request-id': 'r2' }), endOfStream: false });
    assert.equal(metadataOf(answer(x.handle(body('{"model":"llama","input":"x"}'))))['cache'], 'miss');
    const uncached = call();
    assert.equal(metadataOf(answer(uncached.handle(body('{"model":"llama","messages":[]}'))))['cache'], undefined, 'no cache asked, no verdict');
  });

  it('answers bad input itself, in OpenAI’s error shape, marked for the gateway to pass on as it is', () => {
    for (const [text, status, code] of [
      ['{"model":"gpt-9"}', 404, 'model_not_found'],
      ['nope', 400, undefined],
    ] as const) {
      const a = answer(call().handle(body(text)));
      const immediate = a['immediate_response'] as { status: { code: string }; body: string };
      assert.equal(immediate.status.code, status === 404 ? 'NotFound' : 'BadRequest');
      const sent = JSON.parse(Buffer.from(immediate.body, 'base64').toString()) as { error: { code: string | null; type: string } };
      assert.equal(sent.error.type, 'invalid_request_error');
      if (code) assert.equal(sent.error.code, code);
      assert.deepEqual(metadataOf(a), { answer: 'openai' });
    }
  });

  it('decodes Envoy’s messages, raw header values included', () => {
    const bytes = encodeMessage('envoy.service.ext_proc.v3.ProcessingRequest', {
      request_headers: { headers: { headers: [{ key: ':path', raw_value: Buffer.from('/v1/embeddings').toString('base64') }] }, end_of_stream: false },
    });
    const p = decodePhase(Buffer.from(bytes));
    assert.equal(p.kind, 'request_headers');
    assert.equal(p.kind === 'request_headers' && p.headers.get(':path'), '/v1/embeddings');
    const empty = decodePhase(Buffer.from(encodeMessage('envoy.service.ext_proc.v3.ProcessingRequest', { response_body: { end_of_stream: true } })));
    assert.deepEqual(empty, { kind: 'response_body', body: Buffer.alloc(0), endOfStream: true });
    const first = decodePhase(
      Buffer.from(
        encodeMessage('envoy.service.ext_proc.v3.ProcessingRequest', {
          response_body: { body: Buffer.from('{}').toString('base64'), end_of_stream: true },
          // A Struct in its JSON form, as the encoder takes it.
          attributes: { 'envoy.filters.http.ext_proc': { [RESPONSE_ATTRIBUTES.status]: 429, [RESPONSE_ATTRIBUTES.service]: 'llm-b' } },
        }),
      ),
    );
    assert.deepEqual(first, { kind: 'response_body', body: Buffer.from('{}'), endOfStream: true, facts: { status: 429, service: 'llm-b' } });
    assert.equal(decodePhase(Buffer.from([0xff, 0xff])).kind, 'unreadable');
  });
});

describe('LLM processor: the model table', () => {
  it('splits an alias by weight and refuses a table it cannot read', () => {
    const t = parseModelTable(JSON.stringify({ models: ['a', 'b'], aliases: { x: [['a', 3], ['b', 1]] } }));
    assert.deepEqual([t.resolve('x', 0), t.resolve('x', 0.74), t.resolve('x', 0.75), t.resolve('x', 0.999), t.resolve('a', 0.9)], ['a', 'a', 'b', 'b', 'a']);
    assert.deepEqual([...t.names].sort(), ['a', 'b', 'x']);
    const tables = new ModelTables(2);
    assert.equal(tables.get('{"models": 1}'), undefined);
    assert.equal(tables.get(undefined), undefined);
    const one = tables.get('{"models":["a"]}');
    assert.equal(tables.get('{"models":["a"]}'), one, 'parsed once');
  });
});
