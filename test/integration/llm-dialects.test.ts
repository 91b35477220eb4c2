// Every client dialect to every model service: the official Anthropic SDK and the official
// OpenAI SDK (Chat Completions and the Responses API), unchanged, through the real gateway (Consul, xds-server, Envoy, the processor),
// against a service that speaks OpenAI's Chat Completions, one that speaks Anthropic's Messages
// API and one that speaks Ollama's chat API (demo/model-service.ts with meta model-dialect). For each pair: chat,
// a stream (its events in order, arriving as the service paces them), a tool round trip, an
// image, token counts, and errors as each SDK's own classes (the gateway's own refusals in the
// caller's error shape too); API keys taken the way each SDK sends them; a feature one side
// cannot express refused with its name.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { waitFor } from '../../launcher/wait.js';
import { sha256 } from '../../ext-authz/credentials/secrets.js';

/** The model each backend dialect serves. */
const MODELS = { openai: 'oa-model', anthropic: 'an-model', ollama: 'ol-model' } as const;
const INSTANCES = { openai: 'chat-oa-1', anthropic: 'chat-an-1', ollama: 'chat-ol-1' } as const;
type Dialect = keyof typeof MODELS;
const BACKENDS: readonly Dialect[] = ['openai', 'anthropic', 'ollama'];
const IMAGE = '/9j/4AAQSkZJRgABAQ==';
const KEY = 'mgk_dialects_test_0123456789';
/** One credential for both SDKs: Anthropic's sends x-api-key, OpenAI's Authorization: Bearer. */
const POLICY = `
policies:
  default:
    credentials:
      - type: api_key
        header: x-api-key
        bearer: true
        keys:
          - {id: d-1, sha256: ${sha256(KEY).toString('hex')}, subject: dialects-app, tenant: acme}
`;

describe('LLM gateway: every client dialect to every model service', () => {
  let mesh: GatewayMesh;
  let anthropic: Anthropic;
  let openai: OpenAI;
  const logFile = path.join(os.tmpdir(), `meshgate-dialects-log-${process.pid}.log`);

  before(async () => {
    mesh = await startGatewayMesh({ llm: true, authzPolicy: POLICY, llmArgs: [`--request-log-file=${logFile}`] });
    await mesh.addInstance({ service: 'chat-oa', id: INSTANCES.openai, meta: { models: MODELS.openai, 'request-log': 'on' } });
    await mesh.addInstance({ service: 'chat-an', id: INSTANCES.anthropic, meta: { models: MODELS.anthropic, 'model-dialect': 'anthropic' } });
    await mesh.addInstance({ service: 'chat-ol', id: INSTANCES.ollama, meta: { models: MODELS.ollama, 'model-dialect': 'ollama' } });
    anthropic = new Anthropic({ baseURL: mesh.gatewayUrl, apiKey: KEY, maxRetries: 0, timeout: 10_000 });
    openai = new OpenAI({ baseURL: `${mesh.gatewayUrl}/v1`, apiKey: KEY, maxRetries: 0, timeout: 10_000 });
    await waitFor(
      'both models routed, in both dialects',
      async () => {
        for (const model of Object.values(MODELS)) {
          const ok = await anthropic.messages.create({ model, max_tokens: 16, messages: [{ role: 'user', content: 'x' }] }).then(() => true, () => false);
          if (!ok) return false;
        }
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
  });

  after(async () => {
    await mesh?.stop();
    fs.rmSync(logFile, { force: true });
  });

  for (const backend of BACKENDS) {
    const model = MODELS[backend];
    // Ollama cannot be told to call a tool (it has no tool_choice): its model calls one when offered.
    const forcing = backend !== 'ollama';

    it(`Anthropic SDK → ${backend} service: a message, its usage, the instance that answered`, async () => {
      const r = await anthropic.messages.create({ model, max_tokens: 64, system: 'be brief', messages: [{ role: 'user', content: 'hello there' }] }).withResponse();
      assert.equal(r.data.type, 'message');
      assert.equal(r.data.role, 'assistant');
      assert.deepEqual(r.data.content, [{ type: 'text', text: 'You said: hello there' }]);
      assert.equal(r.data.stop_reason, 'end_turn');
      assert.equal(r.data.model, model);
      // "be brief" and "hello there": 4 words in; "You said: hello there": 4 out.
      assert.equal(r.data.usage.input_tokens, 4);
      assert.equal(r.data.usage.output_tokens, 4);
      assert.equal(r.response.headers.get('x-meshgate-service'), INSTANCES[backend].replace(/-1$/, ''));
    });

    it(`Anthropic SDK → ${backend} service: count_tokens, by the service's own count`, async () => {
      const r = await anthropic.messages.countTokens({ model, system: 'be brief', messages: [{ role: 'user', content: 'one two three four five' }] });
      assert.deepEqual(r, { input_tokens: 7 });
    });

    it(`OpenAI SDK → ${backend} service: a chat completion and its usage`, async () => {
      const r = await openai.chat.completions.create({ model, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there' }] });
      assert.equal(r.object, 'chat.completion');
      assert.equal(r.choices[0]!.message.content, 'You said: hello there');
      assert.equal(r.choices[0]!.finish_reason, 'stop');
      assert.deepEqual([r.usage?.prompt_tokens, r.usage?.completion_tokens, r.usage?.total_tokens], [4, 4, 8]);
    });

    it(`Anthropic SDK → ${backend} service: a stream, its events in order, arriving as paced`, async () => {
      const stream = anthropic.messages.stream({ model, max_tokens: 64, messages: [{ role: 'user', content: 'one two three four five' }] }, { headers: { 'x-demo-pace-ms': '120' } });
      const seen: Array<{ type: string; at: number }> = [];
      const started = Date.now();
      for await (const e of stream) seen.push({ type: e.type, at: Date.now() - started });
      const message = await stream.finalMessage();
      assert.equal(message.content.map((b) => (b.type === 'text' ? b.text : '')).join(''), 'You said: one two three four five');
      assert.equal(message.usage.output_tokens, 7);
      assert.equal(message.usage.input_tokens, 5);
      const types = seen.map((e) => e.type);
      assert.equal(types[0], 'message_start');
      assert.deepEqual(types.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
      const deltas = seen.filter((e) => e.type === 'content_block_delta');
      assert.equal(deltas.length, 7);
      // Chunk by chunk: the first word reached the caller long before the last was written.
      assert.ok(deltas[deltas.length - 1]!.at - deltas[0]!.at >= 4 * 120, `deltas at ${deltas.map((d) => d.at).join(', ')} ms`);
    });

    it(`OpenAI SDK → ${backend} service: a stream chunk by chunk, usage when asked for`, async () => {
      const stream = await openai.chat.completions.create({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'one two three' }] }, { headers: { 'x-demo-pace-ms': '120' } });
      const at: number[] = [];
      const started = Date.now();
      let text = '';
      const usages: unknown[] = [];
      const finishes: string[] = [];
      for await (const chunk of stream) {
        const c = chunk.choices[0];
        if (c?.delta.content) {
          text += c.delta.content;
          at.push(Date.now() - started);
        }
        if (c?.finish_reason) finishes.push(c.finish_reason);
        if (chunk.usage) usages.push({ prompt_tokens: chunk.usage.prompt_tokens, completion_tokens: chunk.usage.completion_tokens });
      }
      assert.equal(text, 'You said: one two three');
      assert.deepEqual(finishes, ['stop']);
      assert.deepEqual(usages, [{ prompt_tokens: 3, completion_tokens: 5 }]);
      assert.ok(at[at.length - 1]! - at[0]! >= 3 * 120, `content at ${at.join(', ')} ms`);
    });

    it(`Anthropic SDK → ${backend} service: a tool use round trip`, async () => {
      const tools: Anthropic.Tool[] = [{ name: 'get_weather', description: 'The weather in a city', input_schema: { type: 'object', properties: { input: { type: 'string' } }, required: ['input'] } }];
      const asked = 'weather in Paris';
      const first = await anthropic.messages.create({ model, max_tokens: 64, tools, ...(forcing ? { tool_choice: { type: 'tool' as const, name: 'get_weather' } } : {}), messages: [{ role: 'user', content: asked }] });
      assert.equal(first.stop_reason, 'tool_use');
      const call = first.content.find((b) => b.type === 'tool_use');
      assert.ok(call && call.type === 'tool_use', JSON.stringify(first.content));
      assert.equal(call.name, 'get_weather');
      assert.deepEqual(call.input, { input: asked });
      const second = await anthropic.messages.create({
        model,
        max_tokens: 64,
        tools,
        messages: [
          { role: 'user', content: asked },
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'sunny, 21 degrees' }] },
        ],
      });
      assert.deepEqual(second.content, [{ type: 'text', text: 'Tool said: sunny, 21 degrees' }]);
      // Streamed, the tool call's input arrives as partial JSON and is whole at the end.
      const streamed = await anthropic.messages.stream({ model, max_tokens: 64, tools, ...(forcing ? { tool_choice: { type: 'any' as const } } : {}), messages: [{ role: 'user', content: asked }] }).finalMessage();
      const streamedCall = streamed.content.find((b) => b.type === 'tool_use');
      assert.deepEqual(streamedCall && streamedCall.type === 'tool_use' ? [streamedCall.name, streamedCall.input] : undefined, ['get_weather', { input: asked }]);
      assert.equal(streamed.stop_reason, 'tool_use');
    });

    it(`OpenAI SDK → ${backend} service: a tool call round trip, streamed too`, async () => {
      const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { input: { type: 'string' } } } } }];
      const asked = 'weather in Oslo';
      const first = await openai.chat.completions.create({ model, tools, ...(forcing ? { tool_choice: { type: 'function' as const, function: { name: 'get_weather' } } } : {}), messages: [{ role: 'user', content: asked }] });
      assert.equal(first.choices[0]!.finish_reason, 'tool_calls');
      const call = first.choices[0]!.message.tool_calls?.[0];
      assert.ok(call && call.type === 'function');
      assert.equal(call.function.name, 'get_weather');
      assert.deepEqual(JSON.parse(call.function.arguments), { input: asked });
      const second = await openai.chat.completions.create({
        model,
        tools,
        messages: [{ role: 'user', content: asked }, first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: 'rain' }],
      });
      assert.equal(second.choices[0]!.message.content, 'Tool said: rain');
      const stream = openai.chat.completions.stream({ model, tools, ...(forcing ? { tool_choice: 'required' as const } : {}), messages: [{ role: 'user', content: asked }] });
      const done = await stream.finalChatCompletion();
      const streamedCall = done.choices[0]!.message.tool_calls?.[0];
      assert.ok(streamedCall && streamedCall.type === 'function');
      assert.deepEqual([streamedCall.function.name, JSON.parse(streamedCall.function.arguments)], ['get_weather', { input: asked }]);
    });

    it(`OpenAI SDK, Responses API → ${backend} service: a response, its usage, stored nowhere`, async () => {
      const r = await openai.responses.create({ model, instructions: 'be brief', input: 'hello there', store: false });
      assert.equal(r.object, 'response');
      assert.equal(r.status, 'completed');
      assert.equal(r.output_text, 'You said: hello there');
      assert.equal((r as unknown as { store: boolean }).store, false, 'the gateway keeps no responses');
      assert.deepEqual([r.usage?.input_tokens, r.usage?.output_tokens, r.usage?.total_tokens], [4, 4, 8]);
    });

    it(`OpenAI SDK, Responses API → ${backend} service: a stream, its events in order, arriving as paced`, async () => {
      const stream = openai.responses.stream({ model, input: 'one two three four' }, { headers: { 'x-demo-pace-ms': '120' } });
      const seen: Array<{ type: string; at: number }> = [];
      const started = Date.now();
      for await (const e of stream) seen.push({ type: e.type, at: Date.now() - started });
      const final = await stream.finalResponse();
      assert.equal(final.output_text, 'You said: one two three four');
      assert.equal(final.usage?.output_tokens, 6);
      const types = seen.map((e) => e.type);
      assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
      assert.deepEqual(types.slice(-4), ['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
      const deltas = seen.filter((e) => e.type === 'response.output_text.delta');
      assert.equal(deltas.length, 6);
      assert.ok(deltas[deltas.length - 1]!.at - deltas[0]!.at >= 3 * 120, `deltas at ${deltas.map((d) => d.at).join(', ')} ms`);
    });

    it(`OpenAI SDK, Responses API → ${backend} service: a function call round trip, streamed too`, async () => {
      const tools: OpenAI.Responses.FunctionTool[] = [{ type: 'function', name: 'get_weather', strict: false, parameters: { type: 'object', properties: { input: { type: 'string' } } } }];
      const asked = 'weather in Rome';
      const first = await openai.responses.create({ model, tools, ...(forcing ? { tool_choice: { type: 'function' as const, name: 'get_weather' } } : {}), input: asked });
      const call = first.output.find((o) => o.type === 'function_call');
      assert.ok(call && call.type === 'function_call', JSON.stringify(first.output));
      assert.equal(call.name, 'get_weather');
      assert.deepEqual(JSON.parse(call.arguments), { input: asked });
      const second = await openai.responses.create({ model, tools, input: [{ role: 'user', content: asked }, call, { type: 'function_call_output', call_id: call.call_id, output: 'windy' }] });
      assert.equal(second.output_text, 'Tool said: windy');
      const streamed = await openai.responses.stream({ model, tools, ...(forcing ? { tool_choice: 'required' as const } : {}), input: asked }).finalResponse();
      const streamedCall = streamed.output.find((o) => o.type === 'function_call');
      assert.deepEqual(streamedCall && streamedCall.type === 'function_call' ? [streamedCall.name, JSON.parse(streamedCall.arguments)] : undefined, ['get_weather', { input: asked }]);
    });

    it(`both SDKs → ${backend} service: an image part reaches it`, async () => {
      const a = await anthropic.messages.create({
        model,
        max_tokens: 64,
        messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: IMAGE } }, { type: 'text', text: 'what is this' }] }],
      });
      const o = await openai.chat.completions.create({
        model,
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/jpeg;base64,${IMAGE}` } }, { type: 'text', text: 'what is this' }] }],
      });
      const r = await openai.responses.create({ model, input: [{ role: 'user', content: [{ type: 'input_image', image_url: `data:image/jpeg;base64,${IMAGE}`, detail: 'auto' }, { type: 'input_text', text: 'what is this' }] }] });
      const text = a.content[0]!.type === 'text' ? a.content[0]!.text : '';
      // Each service says it saw an image in its own words (the OpenAI demo names the part's type).
      const saw = backend === 'openai' ? /\[image_url\]\nwhat is this/ : /what is this \(with 1 image\)/;
      assert.match(text, saw);
      assert.match(o.choices[0]!.message.content ?? '', saw);
      assert.match(r.output_text, saw);
    });

    it(`both SDKs → ${backend} service: errors as each SDK's own classes`, async () => {
      await assert.rejects(anthropic.messages.create({ model: 'no-such-model', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => e instanceof Anthropic.NotFoundError && /no-such-model/.test(e.message));
      await assert.rejects(anthropic.messages.create({ model, max_tokens: 8, messages: [] }), (e: unknown) => e instanceof Anthropic.BadRequestError && /messages/.test(e.message));
      await assert.rejects(openai.responses.create({ model: 'no-such-model', input: 'x' }), (e: unknown) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
      await assert.rejects(openai.responses.create({ model, input: [] }), (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'input');
      const instance = mesh.services.find((s) => s.id === INSTANCES[backend])!;
      await fetch(`${instance.url}/_demo/fail?status=429`, { method: 'PUT' });
      try {
        await assert.rejects(anthropic.messages.create({ model, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => e instanceof Anthropic.RateLimitError && /is failing \(429\)/.test(e.message));
        await assert.rejects(openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => e instanceof OpenAI.RateLimitError && /is failing \(429\)/.test(e.message));
        await assert.rejects(openai.responses.create({ model, input: 'x' }), (e: unknown) => e instanceof OpenAI.RateLimitError && /is failing \(429\)/.test(e.message));
        await fetch(`${instance.url}/_demo/fail?status=500`, { method: 'PUT' });
        await assert.rejects(anthropic.messages.create({ model, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => e instanceof Anthropic.InternalServerError && /is failing \(500\)/.test(e.message));
        await assert.rejects(openai.responses.create({ model, input: 'x' }), (e: unknown) => e instanceof OpenAI.InternalServerError && /is failing \(500\)/.test(e.message));
      } finally {
        await fetch(`${instance.url}/_demo/fail`, { method: 'PUT' });
      }
    });
  }

  it('the cache keeps each dialect’s answers apart, and answers a repeat without calling the service', async () => {
    const sent = async (): Promise<number> => (await mesh.envoy.admin.stat(`cluster.model~${MODELS.openai}.upstream_rq_total`)) ?? 0;
    const content = `cache me ${Date.now()}`;
    // The caller lets a sampled answer be reused (the SDK no longer sends temperature).
    const allow = { headers: { 'x-meshgate-cache': 'allow' } };
    const first = await anthropic.messages.create({ model: MODELS.openai, max_tokens: 32, messages: [{ role: 'user', content }] }, allow).withResponse();
    assert.equal(first.response.headers.get('x-meshgate-cache'), 'miss');
    const before = await sent();
    const second = await anthropic.messages.create({ model: MODELS.openai, max_tokens: 32, messages: [{ role: 'user', content }] }, allow).withResponse();
    assert.equal(second.response.headers.get('x-meshgate-cache'), 'hit');
    assert.deepEqual(second.data, first.data, 'the same Messages answer');
    assert.equal(await sent(), before, 'the service was not called');
    // The same question in OpenAI's dialect is its own entry, answered in its own shape.
    const other = await openai.chat.completions.create({ model: MODELS.openai, max_tokens: 32, messages: [{ role: 'user', content }] }, allow).withResponse();
    assert.equal(other.response.headers.get('x-meshgate-cache'), 'miss');
    assert.equal(other.data.object, 'chat.completion');
  });

  it('logs a call in any dialect as text, with both dialects named', async () => {
    const marker = `logged-${Date.now()}`;
    await anthropic.messages.create({ model: MODELS.openai, max_tokens: 32, system: 'be brief', messages: [{ role: 'user', content: `${marker} please` }] });
    await anthropic.messages.stream({ model: MODELS.openai, max_tokens: 32, messages: [{ role: 'user', content: `${marker} streamed` }] }).finalMessage();
    const lines = await waitFor(
      'both calls in the request log',
      () => {
        const found = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes(marker)).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
        return found.length === 2 ? found : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    assert.deepEqual([lines[0]!['client_dialect'], lines[0]!['service_dialect']], ['anthropic', 'openai']);
    assert.equal(lines[0]!['prompt'], `system: be brief\nuser: ${marker} please`);
    assert.equal(lines[0]!['completion'], `You said: ${marker} please`);
    assert.equal(lines[1]!['completion'], `You said: ${marker} streamed`, 'the stream reassembled');
  });

  it('fails over between services of different dialects, each attempt written in its service’s', async () => {
    // mix-model: the Anthropic-style service first, the OpenAI-style one as its failover, each under its own name.
    await mesh.consul.api.kvPut(
      'meshgate/config/model-route/mix-model',
      `Kind: model-route\nName: mix-model\nServices:\n  - {Service: chat-an, Model: ${MODELS.anthropic}}\n  - {Service: chat-oa, Model: ${MODELS.openai}}\n`,
    );
    await waitFor('mix-model routed', async () => (await anthropic.messages.create({ model: 'mix-model', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] }).then(() => true, () => false)), { timeoutMs: 15_000, intervalMs: 200 });
    const ask = async () => {
      const a = await anthropic.messages.create({ model: 'mix-model', max_tokens: 32, messages: [{ role: 'user', content: 'who answers' }] }).withResponse();
      const o = await openai.chat.completions.create({ model: 'mix-model', messages: [{ role: 'user', content: 'who answers' }] }).withResponse();
      const s = await anthropic.messages.stream({ model: 'mix-model', max_tokens: 32, messages: [{ role: 'user', content: 'who streams' }] }).withResponse();
      const streamed = await s.data.finalMessage();
      const os = await openai.chat.completions.create({ model: 'mix-model', stream: true, messages: [{ role: 'user', content: 'who streams' }] });
      let ostreamed = '';
      for await (const c of os) ostreamed += c.choices[0]?.delta.content ?? '';
      return {
        services: [a.response.headers.get('x-meshgate-service'), o.response.headers.get('x-meshgate-service'), s.response.headers.get('x-meshgate-service')],
        models: [a.data.model, o.data.model],
        texts: [a.data.content[0]?.type === 'text' ? a.data.content[0].text : '', o.data.choices[0]!.message.content, streamed.content[0]?.type === 'text' ? streamed.content[0].text : '', ostreamed],
      };
    };
    const first = await ask();
    assert.deepEqual(first.services, ['chat-an', 'chat-an', 'chat-an']);
    assert.deepEqual(first.models, [MODELS.anthropic, MODELS.anthropic], 'the service got its own name for the model');
    assert.deepEqual(first.texts, ['You said: who answers', 'You said: who answers', 'You said: who streams', 'You said: who streams']);
    const primary = mesh.services.find((s) => s.id === INSTANCES.anthropic)!;
    await fetch(`${primary.url}/_demo/fail?status=503`, { method: 'PUT' });
    try {
      const failedOver = await ask();
      assert.deepEqual(failedOver.services, ['chat-oa', 'chat-oa', 'chat-oa'], 'each call retried on the OpenAI-style service');
      assert.deepEqual(failedOver.models, [MODELS.openai, MODELS.openai]);
      assert.deepEqual(failedOver.texts, ['You said: who answers', 'You said: who answers', 'You said: who streams', 'You said: who streams']);
    } finally {
      await fetch(`${primary.url}/_demo/fail`, { method: 'PUT' });
    }
  });

  it('lists the models in each SDK’s shape', async () => {
    const a = await anthropic.models.list();
    assert.deepEqual(a.data.map((m) => [m.type, m.id]), [['model', MODELS.anthropic], ['model', 'mix-model'], ['model', MODELS.openai], ['model', MODELS.ollama]]);
    const o = await openai.models.list();
    assert.deepEqual(o.data.map((m) => [m.object, m.id]), [['model', MODELS.anthropic], ['model', 'mix-model'], ['model', MODELS.openai], ['model', MODELS.ollama]]);
  });

  it('a wrong key: each SDK’s AuthenticationError, the gateway’s refusal in each caller’s error shape', async () => {
    const badAnthropic = new Anthropic({ baseURL: mesh.gatewayUrl, apiKey: 'mgk_wrong', maxRetries: 0 });
    await assert.rejects(badAnthropic.messages.create({ model: MODELS.openai, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => {
      assert.ok(e instanceof Anthropic.AuthenticationError, String(e));
      assert.deepEqual(Object.keys(e.error as object).sort(), ['error', 'request_id', 'type']);
      assert.equal((e.error as { type: string }).type, 'error');
      assert.equal((e.error as { error: { type: string } }).error.type, 'authentication_error');
      return true;
    });
    const badOpenAi = new OpenAI({ baseURL: `${mesh.gatewayUrl}/v1`, apiKey: 'mgk_wrong', maxRetries: 0 });
    await assert.rejects(badOpenAi.chat.completions.create({ model: MODELS.anthropic, messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => e instanceof OpenAI.AuthenticationError && e.code === 'unauthenticated');
  });

  it('a feature the service’s dialect cannot express is refused with its name, in the caller’s error shape', async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: MODELS.anthropic, n: 2, messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.code === 'untranslatable_feature' && e.param === 'n' && /`n` cannot be translated for a service that speaks the anthropic API/.test(e.message),
    );
    await assert.rejects(
      anthropic.messages.create({ model: MODELS.openai, max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof Anthropic.BadRequestError && /`thinking` cannot be translated for a service that speaks the openai API/.test(e.message) && (e.error as { error?: { type?: string } }).error?.type === 'invalid_request_error',
    );
    await assert.rejects(
      openai.chat.completions.create({ model: MODELS.ollama, tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'required', messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'tool_choice' && /Ollama decides itself/.test(e.message),
    );
    await assert.rejects(
      openai.responses.create({ model: MODELS.openai, previous_response_id: 'resp_123', input: 'and then?' }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'previous_response_id' && /this gateway keeps none/.test(e.message),
    );
    // The same feature reaches a service of the caller's own dialect untouched.
    await anthropic.messages.create({ model: MODELS.anthropic, max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'x' }] });
  });

  it('GenAI metrics count each call with the client’s and the service’s dialect as labels', async () => {
    const metrics = await (await fetch(`${mesh.llm!.adminUrl}/metrics`)).text();
    for (const [client, service] of [
      ['anthropic', 'openai'],
      ['openai', 'anthropic'],
      ['anthropic', 'anthropic'],
      ['openai', 'openai'],
      ['anthropic', 'ollama'],
      ['openai', 'ollama'],
      ['openai-responses', 'openai'],
      ['openai-responses', 'anthropic'],
      ['openai-responses', 'ollama'],
    ] as const) {
      const model = MODELS[service];
      const line = metrics.split('\n').find((l) => l.startsWith('gen_ai_client_token_usage_count{') && l.includes(`gen_ai_request_model="${model}"`) && l.includes(`client_dialect="${client}",service_dialect="${service}"`) && l.includes('gen_ai_token_type="output"'));
      assert.ok(line && Number(line.slice(line.lastIndexOf(' ') + 1)) > 0, `calls from ${client} to ${service}: ${line}`);
    }
  });
});
