// The model API through the gateway with the LLM processor: real Consul, xds-server, Envoy and
// ext-proc, model services registered with meta `models`, and the official openai SDK as the
// caller. Each model is answered by a service that serves it; streams arrive as the service
// paces them; the processor's absence is a 503, never a guess.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { freePorts } from '../../launcher/ports.js';
import { startRedis, type RedisServer } from '../../launcher/redis.js';
import { waitFor } from '../../launcher/wait.js';
import { sha256 } from '../../ext-authz/credentials/secrets.js';
import { request, type GatewayError } from '../helpers/http.js';

describe('LLM gateway: route by model, stream, count tokens', () => {
  let mesh: GatewayMesh;
  let client: OpenAI;
  let logFile: string;

  before(async () => {
    logFile = path.join(os.tmpdir(), `meshgate-llm-requests-${process.pid}.log`);
    mesh = await startGatewayMesh({ llm: true, llmArgs: [`--request-log-file=${logFile}`, '--redact=acct-[0-9]{4,}'] });
    // chat-a serves llama, chat-b serves qwen, and both serve "shared" (chat-a first by name);
    // chat-b's calls are logged.
    await mesh.addInstance({ service: 'chat-a', id: 'chat-a-1', meta: { models: 'llama-3.1-8b,shared-7b' } });
    await mesh.addInstance({ service: 'chat-b', id: 'chat-b-1', meta: { models: 'qwen2.5-7b,shared-7b', 'request-log': 'on' } });
    await mesh.addInstance({ service: 'embed', id: 'embed-1', meta: { models: 'embed-small' } });
    client = new OpenAI({ baseURL: `${mesh.gatewayUrl}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
    await waitFor(
      'every model to be routed',
      async () => {
        const list = await client.models.list().catch(() => undefined);
        if (!list || list.data.length !== 4) return false;
        const r = await client.chat.completions.create({ model: 'embed-small', messages: [{ role: 'user', content: 'x' }] }).catch(() => undefined);
        return r !== undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
  });

  after(async () => {
    await mesh?.stop();
    fs.rmSync(logFile, { force: true });
  });

  it('sends each model to a service that serves it, the body untouched', async () => {
    for (const [model, instance] of [
      ['llama-3.1-8b', 'chat-a-1'],
      ['qwen2.5-7b', 'chat-b-1'],
    ] as const) {
      const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello there' }] }).withResponse();
      assert.equal(r.data.choices[0]?.message.content, 'You said: hello there');
      assert.equal(r.data.model, model);
      assert.equal(r.data.system_fingerprint, instance, `${model} answered by ${instance}`);
      assert.equal(r.response.headers.get('x-meshgate-service'), instance.replace(/-1$/, ''));
      assert.deepEqual(r.data.usage, { prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 });
    }
    const e = await client.embeddings.create({ model: 'embed-small', input: ['one two', 'three'] });
    assert.equal(e.data.length, 2);
    assert.equal(e.usage.prompt_tokens, 3);
  });

  it('answers an unknown model with the SDK’s NotFoundError, naming the models one may use, and never calls a service', async () => {
    const sent = async (): Promise<number> => {
      let n = 0;
      for (const m of ['llama-3.1-8b', 'qwen2.5-7b', 'shared-7b', 'embed-small']) n += (await mesh.envoy.admin.stat(`cluster.model~${m}.upstream_rq_total`)) ?? 0;
      return n;
    };
    const before = await sent();
    await assert.rejects(
      () => client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.NotFoundError, String(err));
        assert.equal(err.status, 404);
        assert.equal(err.code, 'model_not_found');
        assert.match(err.message, /The model `gpt-9` does not exist.*llama-3\.1-8b, qwen2\.5-7b, shared-7b/);
        return true;
      },
    );
    assert.equal(await sent(), before, 'no service was called');
  });

  it('splits an alias across its models by weight (model-route entry), the body saying the model each service got', async () => {
    await mesh.consul.api.kvPut(
      'meshgate/config/chat-default',
      'Kind: model-route\nName: chat-default\nTargets:\n  - {Model: llama-3.1-8b, Weight: 3}\n  - {Model: qwen2.5-7b, Weight: 1}\n',
    );
    await waitFor('the alias listed', async () => (await client.models.list()).data.some((m) => m.id === 'chat-default'), { timeoutMs: 10_000, intervalMs: 100 });
    await waitFor('the alias routed', async () => (await client.chat.completions.create({ model: 'chat-default', messages: [{ role: 'user', content: 'x' }] }).catch(() => undefined)) !== undefined, {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    const seen = new Map<string, number>();
    const N = 200;
    for (let i = 0; i < N; i++) {
      const r = await client.chat.completions.create({ model: 'chat-default', messages: [{ role: 'user', content: 'x' }] });
      // The service got the model, not the alias, and answered with it.
      assert.ok(r.model === 'llama-3.1-8b' || r.model === 'qwen2.5-7b', r.model);
      assert.equal(r.system_fingerprint, r.model === 'llama-3.1-8b' ? 'chat-a-1' : 'chat-b-1');
      seen.set(r.model, (seen.get(r.model) ?? 0) + 1);
    }
    // 3:1 is 150:50; a binomial's 4 standard deviations (±24) is the tolerance.
    const llama = seen.get('llama-3.1-8b') ?? 0;
    assert.ok(Math.abs(llama - 150) <= 24, `llama answered ${llama} of ${N}`);
  });

  it('fails over when every instance of the first service of a model is gone', async () => {
    const a = mesh.services.find((s) => s.id === 'chat-a-1')!;
    await a.setHealthy(false);
    try {
      await waitFor(
        'shared-7b served by chat-b',
        async () => (await client.chat.completions.create({ model: 'shared-7b', messages: [{ role: 'user', content: 'x' }] })).system_fingerprint === 'chat-b-1',
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      // llama has no other service: it is gone from the catalog, so it is unknown now.
      await waitFor('llama gone', async () => !(await client.models.list()).data.some((m) => m.id === 'llama-3.1-8b'), { timeoutMs: 10_000, intervalMs: 100 });
    } finally {
      await a.setHealthy(true);
    }
    await waitFor('llama back', async () => (await client.models.list()).data.some((m) => m.id === 'llama-3.1-8b'), { timeoutMs: 10_000, intervalMs: 100 });
  });

  it('answers a body that is not JSON, or has no model, 400 in OpenAI’s error shape', async () => {
    const notJson = await request<{ error: { message: string; type: string } }>(`${mesh.gatewayUrl}/v1/chat/completions`, { method: 'POST', body: 'not json', headers: { 'content-type': 'application/json' } });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error.type, 'invalid_request_error');
    const noModel = await request<{ error: { param: string } }>(`${mesh.gatewayUrl}/v1/chat/completions`, { method: 'POST', body: '{"messages":[]}', headers: { 'content-type': 'application/json' } });
    assert.equal(noModel.status, 400);
    assert.equal(noModel.body.error.param, 'model');
  });

  it('ignores a model header a client sends: the processor alone decides', async () => {
    const r = await request<{ system_fingerprint: string }>(`${mesh.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-meshgate-model': 'qwen2.5-7b' },
      body: JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.system_fingerprint, 'chat-a-1');
  });

  it('streams chunks as the service paces them, and takes out the usage chunk the gateway asked for itself', async () => {
    const started = Date.now();
    const stream = await client.chat.completions.create(
      { model: 'qwen2.5-7b', stream: true, messages: [{ role: 'user', content: 'one two three four' }] },
      { headers: { 'x-demo-pace-ms': '150' } },
    );
    const arrivals: number[] = [];
    let text = '';
    let usageChunks = 0;
    for await (const chunk of stream) {
      arrivals.push(Date.now() - started);
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usageChunks += 1;
    }
    assert.equal(text, 'You said: one two three four');
    assert.equal(usageChunks, 0, 'the caller did not ask for usage');
    // Six words 150 ms apart: the first chunk long before the last (not one burst at the end).
    assert.ok(arrivals[arrivals.length - 1]! - arrivals[0]! >= 600, `chunks arrived at ${arrivals.join(', ')} ms`);
  });

  it('keeps the usage chunk for a caller that asked for it', async () => {
    const stream = await client.chat.completions.create({ model: 'llama-3.1-8b', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'a b' }] });
    const usages = [];
    for await (const chunk of stream) if (chunk.usage) usages.push(chunk.usage);
    assert.deepEqual(usages, [{ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 }]);
  });

  it('counts tokens by model and type in GenAI metrics, streams included', async () => {
    const scrape = async (): Promise<string> => (await fetch(`${mesh.llm!.adminUrl}/metrics`)).text();
    const sum = (metrics: string, model: string, type: string): number => {
      const m = new RegExp(`^gen_ai_client_token_usage_sum\\{[^}]*gen_ai_request_model="${model.replace(/\./g, '\\.')}"[^}]*gen_ai_token_type="${type}"[^}]*\\} (\\d+)`, 'm').exec(metrics);
      return m ? Number(m[1]) : 0;
    };
    const before = await scrape();
    await client.chat.completions.create({ model: 'qwen2.5-7b', messages: [{ role: 'user', content: 'hello there' }] });
    const stream = await client.chat.completions.create({ model: 'qwen2.5-7b', stream: true, messages: [{ role: 'user', content: 'one two three four' }] });
    for await (const _ of stream);
    const after = await scrape();
    // "hello there": 2 in, 4 out; the stream "one two three four": 4 in, 6 out.
    assert.equal(sum(after, 'qwen2.5-7b', 'input') - sum(before, 'qwen2.5-7b', 'input'), 2 + 4);
    assert.equal(sum(after, 'qwen2.5-7b', 'output') - sum(before, 'qwen2.5-7b', 'output'), 4 + 6, 'the stream counted from the usage the gateway asked for itself');
    assert.match(after, /gen_ai_server_time_to_first_token_seconds_count\{[^}]*gen_ai_request_model="qwen2\.5-7b"[^}]*\} [1-9]/);
    assert.match(after, /gen_ai_client_operation_duration_seconds_count\{gen_ai_operation_name="chat",gen_ai_request_model="qwen2\.5-7b",service="chat-b",tenant="",client_dialect="openai",service_dialect="openai"\} [1-9]/);
  });

  it('fails over to the next service that serves the model when the first answers 503 or 429', async () => {
    const a = mesh.services.find((s) => s.id === 'chat-a-1')!;
    const ask = async () => (await client.chat.completions.create({ model: 'shared-7b', messages: [{ role: 'user', content: 'x' }] })).system_fingerprint;
    assert.equal(await ask(), 'chat-a-1', 'the first service by name serves while it is well');
    for (const status of [503, 429]) {
      await a.failWith(status);
      try {
        assert.equal(await ask(), 'chat-b-1', `failed over on ${status}`);
      } finally {
        await a.failWith(undefined);
      }
    }
  });

  it('fails over to a provider that knows the model by another name: each attempt gets the name of the service it goes to', async () => {
    const a = mesh.services.find((s) => s.id === 'chat-a-1')!;
    const provider = await mesh.addInstance({ service: 'provider', id: 'provider-1', meta: { 'gateway-path': 'none' } });
    const providerName = 'meta-llama/Llama-3.1-8B-Instruct';
    await mesh.consul.api.kvPut('meshgate/config/llama-failover', `Kind: model-route\nName: llama-3.1-8b\nServices: [chat-a, {Service: provider, Model: ${providerName}}]\n`);
    try {
      await a.failWith(503);
      const ask = () => client.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hello' }] }).withResponse();
      const failedOver = await waitFor('the provider to take over', async () => {
        const r = await ask().catch(() => undefined);
        return r?.data.system_fingerprint === 'provider-1' ? r : undefined;
      }, { timeoutMs: 10_000, intervalMs: 200 });
      assert.equal(failedOver.data.model, providerName, 'the provider got the body with its own name for the model');
      assert.equal(failedOver.data.choices[0]?.message.content, 'You said: hello');
      assert.equal(failedOver.response.headers.get('x-meshgate-service'), 'provider');
      // A stream too: renamed, the usage the gateway asked for taken out again.
      const stream = await client.chat.completions.create({ model: 'llama-3.1-8b', stream: true, messages: [{ role: 'user', content: 'one two' }] });
      let text = '';
      const models = new Set<string>();
      let usageChunks = 0;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        models.add(chunk.model);
        if (chunk.usage) usageChunks += 1;
      }
      assert.equal(text, 'You said: one two');
      assert.deepEqual([...models], [providerName]);
      assert.equal(usageChunks, 0);
      await a.failWith(undefined);
      // The first service again, with the gateway's name (the provider's attempt changed nothing for it).
      const back = await ask();
      assert.equal(back.data.system_fingerprint, 'chat-a-1');
      assert.equal(back.data.model, 'llama-3.1-8b');
    } finally {
      await a.failWith(undefined);
      await mesh.consul.api.kvDelete('meshgate/config/llama-failover');
      await provider.stop();
    }
  });

  it('logs what a logging service was asked and answered, a stream reassembled, its secrets redacted; no other service', async () => {
    const marker = `m${Date.now()}`;
    const stream = await client.chat.completions.create({
      model: 'qwen2.5-7b',
      stream: true,
      messages: [{ role: 'user', content: `${marker} key sk-abcdefghijklmnopqrstuv acct-123456 Bearer abc.def.ghijklmnop` }],
    });
    for await (const _ of stream);
    await client.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: `${marker} not logged` }] });
    // A barrier: a later call of the logging service. Once its line is written, chat-a's call
    // (made before it) would have been too, had it been logged.
    await client.chat.completions.create({ model: 'qwen2.5-7b', messages: [{ role: 'user', content: `${marker} barrier` }] });
    const logged = (text: string): string[] => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes(text)) : []);
    await waitFor('the barrier’s log line', () => logged(`${marker} barrier`).length > 0, { timeoutMs: 5_000, intervalMs: 50 });
    const line = logged(marker).filter((l) => !l.includes(`${marker} barrier`));
    assert.equal(line.length, 1, `chat-a does not log: ${line.join('\n')}`);
    const r = JSON.parse(line[0]!) as Record<string, unknown> & { tokens: Record<string, number>; prompt: string; completion: string };
    assert.equal(r['service'], 'chat-b');
    assert.equal(r['model'], 'qwen2.5-7b');
    assert.equal(r['status'], 200);
    assert.deepEqual(r.tokens, { prompt: 6, completion: 8, total: 14 }, 'the usage the gateway asked the stream for');
    assert.ok(!/sk-abc|123456|abc\.def/.test(r.prompt), r.prompt);
    assert.match(r.prompt, /\[redacted\].*\[redacted\].*Bearer \[redacted\]/);
    // The stream reassembled (the service echoes the prompt), redacted too.
    assert.match(r.completion, new RegExp(`^You said: ${marker} key \\[redacted\\]`));
  });

  it('takes every message shape the SDK sends — content parts, a tool call, its result — and logs them as text', async () => {
    const marker = `t${Date.now()}`;
    const tools = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object', properties: { input: { type: 'string' } } } } }];
    const user = { role: 'user' as const, content: [{ type: 'text' as const, text: `${marker} find` }, { type: 'image_url' as const, image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] };
    // The model calls the tool (forced), as a plain answer and as a stream.
    const call = await client.chat.completions.create({ model: 'qwen2.5-7b', messages: [user], tools, tool_choice: 'required' });
    const toolCall = call.choices[0]!.message.tool_calls![0]!;
    assert.equal(call.choices[0]!.finish_reason, 'tool_calls');
    assert.equal(toolCall.type === 'function' && toolCall.function.name, 'lookup');
    const streamed = await client.chat.completions.create({ model: 'qwen2.5-7b', stream: true, messages: [user], tools, tool_choice: 'required' });
    let args = '';
    for await (const chunk of streamed) args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
    assert.equal(args, toolCall.type === 'function' ? toolCall.function.arguments : '');
    // The tool's result goes back, as the SDK's tool loop sends it.
    const answer = await client.chat.completions.create({
      model: 'qwen2.5-7b',
      tools,
      messages: [user, call.choices[0]!.message, { role: 'tool', tool_call_id: toolCall.id, content: [{ type: 'text', text: 'found it' }] }],
    });
    assert.equal(answer.choices[0]?.message.content, 'Tool said: found it');
    assert.ok(answer.usage!.prompt_tokens > 0);
    const lines = await waitFor(
      'three log lines',
      () => {
        const found = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes(marker)) : [];
        return found.length === 3 ? found.map((l) => JSON.parse(l) as { prompt: string; completion: string }) : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    assert.equal(lines[0]!.prompt, `user: ${marker} find\n[image_url]`);
    assert.match(lines[0]!.completion, /^\[tool_call lookup\(\{"input":.*\}\)\]$/);
    assert.equal(lines[1]!.completion, lines[0]!.completion, 'the stream’s tool call reassembled');
    assert.match(lines[2]!.prompt, new RegExp(`^user: ${marker} find\n\\[image_url\\]\nassistant: \\[tool_call lookup.*\ntool \\(${toolCall.id}\\): found it$`));
    assert.equal(lines[2]!.completion, 'Tool said: found it');
  });

  it('answers a repeated embeddings call from the cache, without calling the service; a sampled chat never', async () => {
    const sent = async (): Promise<number> => (await mesh.envoy.admin.stat('cluster.model~embed-small.upstream_rq_total')) ?? 0;
    const input = `cache me ${Date.now()}`;
    const first = await client.embeddings.create({ model: 'embed-small', input }).withResponse();
    assert.equal(first.response.headers.get('x-meshgate-cache'), 'miss');
    const before = await sent();
    const second = await client.embeddings.create({ model: 'embed-small', input }).withResponse();
    assert.equal(second.response.headers.get('x-meshgate-cache'), 'hit');
    assert.deepEqual(second.data.data, first.data.data, 'the same answer');
    assert.equal(await sent(), before, 'the service was not called');
    // A chat at the default temperature is sampled: it is never reused.
    const chat = await client.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: input }] }).withResponse();
    assert.equal(chat.response.headers.get('x-meshgate-cache'), null);
  });

  it('answers headers over the gateway’s limit 431 as JSON', async () => {
    const r = await request<GatewayError>(`${mesh.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-big': 'h'.repeat(70 * 1024) },
      body: JSON.stringify({ model: 'llama-3.1-8b', messages: [] }),
    });
    assert.equal(r.status, 431);
    assert.equal(r.body.error.code, 'headers_too_large');
  });

  it('answers 413 as JSON for a body over the model API limit, and takes a large one under it', async () => {
    const big = await request<GatewayError>(`${mesh.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'x'.repeat(3 * 1024 * 1024) }] }),
    });
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 'payload_too_large');
    // Under the limit, a large body goes whole through the processor (one gRPC message) to the service.
    const content = 'y'.repeat(1536 * 1024);
    const large = await client.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content }] });
    assert.equal(large.choices[0]?.message.content, `You said: ${content}`);
  });

  it('answers 503 as JSON while the processor is down, and routes by model again once it is back', async () => {
    const llm = mesh.llm!;
    await llm.stop();
    try {
      const r = await request<GatewayError>(`${mesh.gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'x' }] }),
      });
      assert.equal(r.status, 503);
      assert.equal(typeof r.body.error.message, 'string');
    } finally {
      await llm.start();
    }
    await waitFor('the processor back', async () => (await client.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'x' }] }).catch(() => undefined)) !== undefined, {
      timeoutMs: 15_000,
      intervalMs: 200,
    });
  });
});

describe('LLM gateway: the response cache on Redis', () => {
  let mesh: GatewayMesh;
  let redis: RedisServer;
  let client: OpenAI;

  before(async () => {
    const [port] = (await freePorts(1)) as [number];
    redis = await startRedis(port);
    mesh = await startGatewayMesh({ llm: true, llmArgs: ['--cache=redis', `--cache-redis=127.0.0.1:${port}`, '--cache-timeout=100ms'] });
    await mesh.addInstance({ service: 'chat-a', id: 'chat-a-1', meta: { models: 'llama-3.1-8b' } });
    client = new OpenAI({ baseURL: `${mesh.gatewayUrl}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
    await waitFor('llama routed', async () => (await client.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'x' }] }).catch(() => undefined)) !== undefined, {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
  });

  after(async () => {
    await mesh?.stop();
    await redis?.stop();
  });

  it('reuses a chat at temperature 0 from Redis, and answers from the service while Redis is down', async () => {
    const ask = () => client.chat.completions.create({ model: 'llama-3.1-8b', temperature: 0, messages: [{ role: 'user', content: 'deterministic' }] }).withResponse();
    assert.equal((await ask()).response.headers.get('x-meshgate-cache'), 'miss');
    const hit = await waitFor('stored in Redis', async () => {
      const r = await ask();
      return r.response.headers.get('x-meshgate-cache') === 'hit' ? r : undefined;
    }, { timeoutMs: 5_000, intervalMs: 50 });
    assert.equal(hit.data.choices[0]?.message.content, 'You said: deterministic');
    await redis.stop();
    const without = await ask();
    assert.equal(without.data.choices[0]?.message.content, 'You said: deterministic', 'a cache that is away is a miss, never an error');
    assert.equal(without.response.headers.get('x-meshgate-cache'), 'miss');
  });
});

describe('LLM gateway: token budgets charged with the tokens each call used, per tenant from a Bearer API key', () => {
  let mesh: GatewayMesh;
  let client: OpenAI;
  const KEY = 'sk-acme-0123456789abcdef';
  // Keys as OpenAI's clients send them (Authorization: Bearer), for the default policy.
  const POLICY = `
policies:
  default:
    request_log: true
    credentials:
      - type: api_key
        bearer: true
        keys:
          - {id: acme-1, sha256: ${sha256(KEY).toString('hex')}, subject: acme-app, tenant: acme, scopes: [chat]}
`;
  // 1000 tokens a minute for tenant acme on llama: a "hello there" call uses 6 (2 in, 4 out), and
  // reserves its body's bytes and its max_tokens until it ends.
  const RATELIMIT = `domain: meshgate
descriptors:
  - key: generic_key
    value: tokens
    descriptors:
      - key: tenant
        value: acme
        descriptors:
          - key: model
            value: llama-3.1-8b
            rate_limit: {unit: minute, requests_per_unit: 1000}
  # Two calls a minute of mini-1b, whoever calls (--llm-request-limits generic:calls,model).
  - key: generic_key
    value: calls
    descriptors:
      - key: model
        value: mini-1b
        rate_limit: {unit: minute, requests_per_unit: 2}
`;

  before(async () => {
    mesh = await startGatewayMesh({
      llm: true,
      authzPolicy: POLICY,
      ratelimitConfig: RATELIMIT,
      xdsArgs: ['--llm-token-budgets=generic:tokens,auth:tenant,model', '--llm-request-limits=generic:calls,model'],
    });
    await mesh.addInstance({ service: 'chat-a', id: 'chat-a-1', meta: { models: 'llama-3.1-8b,qwen2.5-7b,mini-1b' } });
    client = new OpenAI({ baseURL: `${mesh.gatewayUrl}/v1`, apiKey: KEY, maxRetries: 0, timeout: 10_000 });
    await waitFor('qwen routed', async () => (await client.chat.completions.create({ model: 'qwen2.5-7b', messages: [{ role: 'user', content: 'x' }] }).catch(() => undefined)) !== undefined, {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
  });

  after(async () => {
    await mesh?.stop();
  });

  it('logs the calls of a policy that asks for it, with the tenant ext-authz established, to stdout', async () => {
    const marker = `p${Date.now()}`;
    await client.chat.completions.create({ model: 'qwen2.5-7b', messages: [{ role: 'user', content: marker }] });
    const line = await waitFor(
      'the log line',
      () => fs.readFileSync(path.join(mesh.dir, 'ext-proc.log'), 'utf8').split('\n').find((l) => l.includes(marker) && l.includes('"llm call"')),
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    const r = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual([r['tenant'], r['service'], r['completion']], ['acme', 'chat-a', `You said: ${marker}`]);
  });

  it('counts calls per model once the model is known: the third call of mini-1b in a minute is a 429, other models go on', async () => {
    const ask = (model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] });
    await ask('mini-1b');
    await ask('mini-1b');
    await assert.rejects(() => ask('mini-1b'), (err: unknown) => err instanceof OpenAI.RateLimitError);
    assert.equal((await ask('qwen2.5-7b')).choices[0]?.message.content, 'You said: x');
  });

  it('refuses a wrong key with the SDK’s AuthenticationError', async () => {
    const stranger = new OpenAI({ baseURL: `${mesh.gatewayUrl}/v1`, apiKey: 'sk-wrong-0000000000000', maxRetries: 0 });
    await assert.rejects(() => stranger.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'x' }] }), OpenAI.AuthenticationError);
  });

  /** What the rate-limit service has counted for acme on llama, asked without counting (POST /json, 0 hits). */
  const remaining = async (): Promise<number> => {
    const r = await fetch(`${mesh.ratelimit!.adminUrl}/json`, {
      method: 'POST',
      body: JSON.stringify({
        domain: 'meshgate',
        hits_addend: 0,
        descriptors: [{ entries: [{ key: 'generic_key', value: 'tokens' }, { key: 'tenant', value: 'acme' }, { key: 'model', value: 'llama-3.1-8b' }], hits_addend: 0 }],
      }),
    });
    const body = (await r.json()) as { statuses?: Array<{ limitRemaining?: number; limit_remaining?: number }> };
    const s = body.statuses?.[0];
    if (!s) return -1;
    return s.limitRemaining ?? s.limit_remaining ?? 0; // proto3 JSON leaves a 0 out
  };

  it('reserves each call’s bound and charges a stream its real total; a call whose bound cannot fit is refused at once with 429 JSON and Retry-After', async () => {
    const stream = await client.chat.completions.create({ model: 'llama-3.1-8b', stream: true, max_tokens: 20, messages: [{ role: 'user', content: 'hello there' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, 'You said: hello there');
    await waitFor('the stream charged its usage, its reservation settled', async () => (await remaining()) === 1000 - 6, { timeoutMs: 5_000, intervalMs: 50 });
    // 994 left, but this call may use its body's bytes and 990 more: refused before it goes.
    const refused = await request<GatewayError>(`${mesh.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: 'llama-3.1-8b', max_tokens: 990, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'rate_limited');
    assert.ok(Number(refused.headers.get('retry-after')) > 0, 'Retry-After');
    assert.equal(await remaining(), 994, 'a refused reservation takes nothing');
    // A call whose bound fits goes through, charged what it used.
    await client.chat.completions.create({ model: 'llama-3.1-8b', max_tokens: 20, messages: [{ role: 'user', content: 'hello there' }] });
    await waitFor('the call charged', async () => (await remaining()) === 988, { timeoutMs: 5_000, intervalMs: 50 });
    // Another model has its own budget (none here).
    const other = await client.chat.completions.create({ model: 'qwen2.5-7b', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(other.choices[0]?.message.content, 'You said: x');
  });
});
