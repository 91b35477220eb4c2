// The priority a call carries to servers that schedule by it (vLLM's request field): written into
// the body the service gets, whatever dialect the caller spoke, with the length Envoy checks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dialectRequest, withPriority, type DialectRequest } from '../../ext-proc/engine/dialect-call.js';
import { forwardedBody, readModelRequest } from '../../ext-proc/openai/request.js';

const read = (body: unknown) => {
  const r = readModelRequest(Buffer.from(JSON.stringify(body)), { maxBytes: 1 << 20, models: new Set(['m', 'alias']) });
  assert.ok(r.ok);
  return r.request;
};

describe('the server priority in a call’s body', () => {
  it('is added to an OpenAI caller’s body, beside what else the gateway writes', () => {
    const plain = forwardedBody(read({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }), 'm', 1_003);
    assert.deepEqual(JSON.parse(plain.body!.toString()), { model: 'm', messages: [{ role: 'user', content: 'hi' }], priority: 1_003 });
    const stream = forwardedBody(read({ model: 'alias', stream: true, messages: [{ role: 'user', content: 'hi' }] }), 'm', 0);
    assert.deepEqual(JSON.parse(stream.body!.toString()), { model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }], priority: 0, stream_options: { include_usage: true } });
    assert.equal(forwardedBody(read({ model: 'm', messages: [] }), 'm').body, undefined, 'without one, the caller’s bytes go on');
  });

  it('is added to the OpenAI body an Anthropic caller’s request was written as, its content-length with it', () => {
    const d = dialectRequest('anthropic', 'openai', 'chat', { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, 'm') as DialectRequest;
    const p = withPriority(d, 2_001);
    const body = JSON.parse(p.body!.toString()) as Record<string, unknown>;
    assert.equal(body['priority'], 2_001);
    assert.deepEqual({ ...body, priority: undefined }, { ...(JSON.parse(d.body!.toString()) as Record<string, unknown>), priority: undefined });
    assert.equal(p.setHeaders.find(([k]) => k === 'content-length')?.[1], String(p.body!.length));
    assert.deepEqual(p.setHeaders.filter(([k]) => k !== 'content-length'), d.setHeaders.filter(([k]) => k !== 'content-length'));
  });
});
