// Direct calls: a model whose calls need nothing of the LLM processor (here: its endpoint picker
// off) is routed by Envoy from the body's model, without an ext_proc stream; every call that
// needs the processor (a stream, the cache asked for, an unknown model, an unreadable body, a
// model with the picker) still goes through it. Real Consul, xds-server, Envoy, ext-proc,
// ratelimit-service and model services; the official openai SDK as the caller.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { waitFor } from '../../launcher/wait.js';
import { request } from '../helpers/http.js';

// Two calls a minute per model: the third direct call to a model is refused, as a processed one would be.
const RATELIMIT = `domain: meshgate
descriptors:
  - key: generic_key
    value: calls
    descriptors:
      - key: model
        value: limited-7b
        rate_limit: {unit: minute, requests_per_unit: 2}
`;

describe('LLM gateway: direct calls, routed by Envoy without the processor', () => {
  let mesh: GatewayMesh;
  let client: OpenAI;
  const scrape = async (): Promise<string> => (await fetch(`${mesh.llm!.adminUrl}/metrics`)).text();
  const counter = (metrics: string, name: string): number => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
  const streams = async (): Promise<number> => counter(await scrape(), 'meshgate_llm_streams_total');
  const directCalls = async (): Promise<number> => counter(await scrape(), 'meshgate_llm_direct_calls_total');

  before(async () => {
    mesh = await startGatewayMesh({ llm: true, ratelimitConfig: RATELIMIT, xdsArgs: ['--llm-request-limits=generic:calls,model'] });
    // direct-7b and limited-7b: the picker off, so nothing needs the processor; pooled-7b keeps the picker (the default).
    await mesh.addInstance({ service: 'chat-a', id: 'chat-a-1', meta: { models: 'direct-7b,limited-7b,pooled-7b' } });
    await mesh.consul.api.kvPut('meshgate/config/direct-7b', 'Kind: model-route\nName: direct-7b\nEndpointPicker: "off"\n');
    await mesh.consul.api.kvPut('meshgate/config/limited-7b', 'Kind: model-route\nName: limited-7b\nEndpointPicker: "off"\n');
    client = new OpenAI({ baseURL: `${mesh.gatewayUrl}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
    await waitFor('the direct routes in Envoy', async () => JSON.stringify(await mesh.envoy.admin.configDump(false)).includes('direct:limited-7b/v1/chat/completions'), {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
  });

  after(async () => {
    await mesh?.stop();
  });

  it('answers a plain call of a direct model without an ext_proc stream, the body untouched, the service named', async () => {
    const before = await streams();
    const r = await client.chat.completions.create({ model: 'direct-7b', messages: [{ role: 'user', content: 'hello there' }] }).withResponse();
    assert.equal(r.data.choices[0]?.message.content, 'You said: hello there');
    assert.equal(r.data.model, 'direct-7b');
    assert.equal(r.data.system_fingerprint, 'chat-a-1');
    assert.equal(r.response.headers.get('x-meshgate-service'), 'chat-a');
    assert.deepEqual(r.data.usage, { prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 });
    const e = await client.embeddings.create({ model: 'direct-7b', input: ['one two', 'three'] });
    assert.equal(e.usage.prompt_tokens, 3);
    // A content type with parameters is JSON too.
    const charset = await request(`${mesh.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ model: 'direct-7b', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(charset.status, 200);
    assert.equal(await streams(), before, 'the processor saw none of the three calls');
  });

  it('passes on a direct answer larger than Envoy’s buffer whole, as a processed one is (its usage then unread)', async () => {
    // 20,000 vectors: about 2 MB of JSON, past the 1 MiB a filter may hold of a stream.
    const input = Array.from({ length: 20_000 }, (_, i) => `w${i}`);
    const e = await client.embeddings.create({ model: 'direct-7b', input });
    assert.equal(e.data.length, input.length);
    assert.equal(e.data[19_999]?.index, 19_999);
  });

  it('counts direct calls in the processor’s metrics from the gateway’s access log: tokens by model, service and operation', async () => {
    const sum = (metrics: string, type: string): number =>
      Number(new RegExp(`^gen_ai_client_token_usage_sum\\{gen_ai_operation_name="chat",gen_ai_request_model="direct-7b",service="chat-a",tenant="",client_dialect="openai",service_dialect="openai",gen_ai_token_type="${type}"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
    // Envoy sends its access log in batches, at least every second: the earlier tests' four calls first.
    const counted = (n: number) => waitFor(`${n} direct calls counted`, async () => (await directCalls()) === n, { timeoutMs: 10_000, intervalMs: 100 });
    await counted(4);
    const before = await scrape();
    for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: 'direct-7b', messages: [{ role: 'user', content: 'hello there' }] });
    await counted(7);
    const after = await scrape();
    assert.equal(sum(after, 'input') - sum(before, 'input'), 3 * 2);
    assert.equal(sum(after, 'output') - sum(before, 'output'), 3 * 4);
    assert.match(after, /^meshgate_llm_calls_total\{gen_ai_operation_name="chat",status_class="2xx"\} [1-9]/m);
  });

  it('sends every call that needs the processor through it: a stream, the cache asked for, a model with the picker', async () => {
    let before = await streams();
    const stream = await client.chat.completions.create({ model: 'direct-7b', stream: true, messages: [{ role: 'user', content: 'one two' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, 'You said: one two');
    assert.equal(await streams(), before + 1, 'the stream went through the processor');

    before = await streams();
    const cached = await request(`${mesh.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-meshgate-cache': 'allow' },
      body: JSON.stringify({ model: 'direct-7b', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(cached.status, 200);
    assert.equal(await streams(), before + 1, 'a call that asks for the cache went through the processor');

    before = await streams();
    const pooled = await client.chat.completions.create({ model: 'pooled-7b', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(pooled.model, 'pooled-7b');
    assert.equal(await streams(), before + 1, 'a model with the endpoint picker went through the processor');
  });

  it('leaves an unknown model and an unreadable body to the processor’s errors, in the caller’s shape', async () => {
    await assert.rejects(
      () => client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) => err instanceof OpenAI.NotFoundError && err.code === 'model_not_found',
    );
    const bad = await request(`${mesh.gatewayUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": "direct-7b", ' });
    assert.equal(bad.status, 400);
    assert.equal((bad.body as { error: { type: string } }).error.type, 'invalid_request_error');
    // A model given as no string is no direct call either.
    const odd = await request(`${mesh.gatewayUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": ["direct-7b"], "messages": []}' });
    assert.equal(odd.status, 400);
  });

  it('sends the processor the access log of direct calls only: none of the calls it processed or answered itself', async () => {
    // Everything the tests before made, flushed (Envoy sends at least every second).
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(counter(await scrape(), 'meshgate_llm_access_log_ignored_total'), 0);
  });

  it('counts a direct model’s calls against its request limit, as a processed call is counted', async () => {
    const ask = () => client.chat.completions.create({ model: 'limited-7b', messages: [{ role: 'user', content: 'x' }] });
    const before = await streams();
    await ask();
    await ask();
    await assert.rejects(ask, (err: unknown) => err instanceof OpenAI.RateLimitError && err.status === 429);
    assert.equal(await streams(), before, 'all three were direct calls');
    // Another model is not limited by it.
    assert.equal((await client.chat.completions.create({ model: 'direct-7b', messages: [{ role: 'user', content: 'x' }] })).model, 'direct-7b');
  });

  it('shows the direct routes in Envoy’s config and the decision in the resolved mesh', async () => {
    const dump = JSON.stringify(await mesh.envoy.admin.configDump(false));
    for (const p of ['/v1/chat/completions', '/v1/completions', '/v1/embeddings']) assert.ok(dump.includes(`direct:direct-7b${p}`), `direct route for ${p}`);
    assert.ok(!dump.includes('direct:pooled-7b'), 'no direct route for a model with the picker');
    const resolved = (await (await fetch(`http://127.0.0.1:${mesh.ports.xdsAdmin}/debug/resolved`)).json()) as { gateway?: { models?: { routed?: Array<{ id: string; direct_calls: boolean }> } } };
    const routed = new Map((resolved.gateway?.models?.routed ?? []).map((m) => [m.id, m.direct_calls]));
    assert.equal(routed.get('direct-7b'), true);
    assert.equal(routed.get('pooled-7b'), false);
  });
});
