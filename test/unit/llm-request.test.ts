// An OpenAI-style request as the LLM processor reads it: the model and the stream flag, or the
// gateway's answer in OpenAI's error shape.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readModelRequest } from '../../ext-proc/openai/request.js';

const MODELS = new Set(['llama-3.1-8b', 'qwen2.5-7b']);
const read = (text: string, maxBytes = 1024) => readModelRequest(Buffer.from(text), { maxBytes, models: MODELS });

describe('LLM request reading', () => {
  it('reads the model and whether it streams', () => {
    assert.deepEqual(read('{"model":"qwen2.5-7b","messages":[],"stream":true}'), { ok: true, request: { model: 'qwen2.5-7b', stream: true } });
    assert.deepEqual(read('{"model":"llama-3.1-8b","input":"x"}'), { ok: true, request: { model: 'llama-3.1-8b', stream: false } });
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
});
