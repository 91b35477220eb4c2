// An OpenAI-style request as the LLM processor reads it: the model and the stream flag, or the
// gateway's answer in OpenAI's error shape.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forwardedBody, readModelRequest, type ModelRequest } from '../../ext-proc/openai/request.js';

const MODELS = new Set(['llama-3.1-8b', 'qwen2.5-7b']);
const read = (text: string, maxBytes = 1024) => readModelRequest(Buffer.from(text), { maxBytes, models: MODELS });

describe('LLM request reading', () => {
  it('reads the model and whether it streams', () => {
    const streaming = read('{"model":"qwen2.5-7b","messages":[],"stream":true}');
    assert.deepEqual(streaming.ok && [streaming.request.model, streaming.request.stream], ['qwen2.5-7b', true]);
    const plain = read('{"model":"llama-3.1-8b","input":"x"}');
    assert.deepEqual(plain.ok && [plain.request.model, plain.request.stream], ['llama-3.1-8b', false]);
  });

  it('answers bad input in OpenAI’s error shape, each with its status', () => {
    const cases: Array<[string, number, string | null, RegExp]> = [
      ['not json', 400, null, /could not parse the JSON body/],
      ['[1,2]', 400, null, /must be a JSON object/],
      ['{"messages":[]}', 400, 'model', /must provide a model parameter/],
      ['{"model":"gpt-9"}', 404, 'model', /The model `gpt-9` does not exist .* Models you can use: llama-3\.1-8b, qwen2\.5-7b\./],
    ];
    for (const [body, status, param, message] of cases) {
      const r = read(body);
      assert.equal(r.ok, false, body);
      if (r.ok) continue;
      assert.equal(r.error.status, status, body);
      assert.equal(r.error.body.error.type, 'invalid_request_error');
      assert.equal(r.error.body.error.param, param, body);
      assert.match(r.error.body.error.message, message, body);
    }
    const big = read(`{"model":"qwen2.5-7b","x":"${'a'.repeat(2000)}"}`);
    assert.equal(!big.ok && big.error.status, 413);
    assert.equal(!big.ok && big.error.body.error.code, 'request_too_large');
  });

  it('names at most twenty models in a 404', () => {
    const many = new Set(Array.from({ length: 30 }, (_, i) => `m${String(i).padStart(2, '0')}`));
    const r = readModelRequest(Buffer.from('{"model":"x"}'), { maxBytes: 1024, models: many });
    assert.ok(!r.ok);
    assert.match(r.error.body.error.message, /m19, and 10 more \(GET \/v1\/models\)\.$/);
  });

  const requestOf = (text: string): ModelRequest => {
    const r = read(text);
    assert.ok(r.ok);
    return r.request;
  };

  it('forwards the caller’s bytes untouched when nothing changes', () => {
    assert.deepEqual(forwardedBody(requestOf('{"model":"qwen2.5-7b","input":"x"}'), 'qwen2.5-7b'), { body: undefined, injected: false });
    assert.deepEqual(forwardedBody(requestOf('{"model":"qwen2.5-7b","stream":true,"stream_options":{"include_usage":true}}'), 'qwen2.5-7b'), { body: undefined, injected: false });
  });

  it('asks for usage in a stream the caller did not ask it for, and says so', () => {
    const asked = forwardedBody(requestOf('{"model":"qwen2.5-7b","stream":true,"stream_options":{"foo":1},"messages":[]}'), 'qwen2.5-7b');
    assert.equal(asked.injected, true);
    assert.deepEqual(JSON.parse(asked.body!.toString()).stream_options, { foo: 1, include_usage: true });
  });

  it('gives the service the model an alias resolved to, the rest of the body as it was', () => {
    const r = forwardedBody(requestOf('{"model":"qwen2.5-7b","temperature":0,"messages":[{"role":"user","content":"hi"}]}'), 'llama-3.1-8b');
    assert.equal(r.injected, false);
    assert.deepEqual(JSON.parse(r.body!.toString()), { model: 'llama-3.1-8b', temperature: 0, messages: [{ role: 'user', content: 'hi' }] });
  });
});
