// The dialect translators, table-tested with fixtures from each API's public documentation:
// requests both ways, answers and errors both ways, streams cut at every byte, and what a
// dialect cannot express refused with its name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnswerTranslator } from '../../ext-proc/dialects/answer-translator.js';
import { readAnthropicRequest, writeAnthropicRequest } from '../../ext-proc/dialects/anthropic-request.js';
import { InvalidRequestError, UntranslatableError } from '../../ext-proc/dialects/neutral.js';
import { writeOllamaRequest } from '../../ext-proc/dialects/ollama.js';
import { readOpenAiRequest, writeOpenAiRequest } from '../../ext-proc/dialects/openai-request.js';
import { readResponsesRequest } from '../../ext-proc/dialects/responses-request.js';
import { CLIENTS, SERVICES } from '../../ext-proc/dialects/specs.js';
import { SseSplitter } from '../../ext-proc/dialects/sse.js';
import {
  ANTHROPIC_IMAGE_MESSAGE,
  ANTHROPIC_NOT_FOUND,
  ANTHROPIC_TOOL_ANSWER,
  ANTHROPIC_TOOL_ROUND_TRIP,
  ANTHROPIC_TOOL_STREAM,
  OLLAMA_TEXT_STREAM,
  OLLAMA_TOOL_ANSWER,
  OPENAI_IMAGE_MESSAGE,
  OPENAI_RATE_LIMITED,
  OPENAI_TEXT_STREAM,
  OPENAI_TOOL_ANSWER,
  OPENAI_TOOL_ROUND_TRIP,
  RESPONSES_FUNCTION_REQUEST,
} from '../helpers/dialect-fixtures.js';

const json = (x: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(x)) as Record<string, unknown>;

function translator(from: 'openai' | 'anthropic' | 'ollama', to: 'openai' | 'anthropic' | 'openai-responses', o: { stream: boolean; status?: number; streamUsage?: boolean }): AnswerTranslator {
  return new AnswerTranslator({ from: SERVICES[from], to: CLIENTS[to], stream: o.stream, streamUsage: o.streamUsage ?? false, status: o.status ?? 200, maxBytes: 1 << 20, collectBytes: 1024, created: 1699896916 });
}

/** The caller's bytes for a service's answer cut into pieces at `cuts`. */
function translated(t: AnswerTranslator, bytes: Buffer, cuts: readonly number[]): string {
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(t.push(bytes.subarray(from, c)));
    from = c;
  }
  out.push(t.end());
  return Buffer.concat(out).toString('utf8');
}

/** The events of a Messages stream as the Anthropic SDK reads them: type and data, in order. */
function events(text: string): Array<Record<string, unknown>> {
  const s = new SseSplitter();
  return [...s.push(Buffer.from(text)), ...s.end()].map((e) => JSON.parse(e.data!) as Record<string, unknown>);
}

describe('requests between dialects', () => {
  it('an Anthropic tool round trip with a system prompt, as Chat Completions takes it', () => {
    const neutral = readAnthropicRequest(json(ANTHROPIC_TOOL_ROUND_TRIP), 'openai');
    assert.deepEqual(writeOpenAiRequest(neutral, 'qwen2.5-7b'), OPENAI_TOOL_ROUND_TRIP);
  });

  it('the same conversation from Chat Completions, as the Messages API takes it', () => {
    const neutral = readOpenAiRequest(json(OPENAI_TOOL_ROUND_TRIP), 'anthropic');
    assert.deepEqual(writeAnthropicRequest(neutral, 'claude-sonnet-4-5'), ANTHROPIC_TOOL_ROUND_TRIP);
  });

  it('images: base64 blocks and data URLs both ways; a link stays a link', () => {
    const toOpenAi = writeOpenAiRequest(readAnthropicRequest(json({ model: 'm', max_tokens: 10, messages: [ANTHROPIC_IMAGE_MESSAGE] }), 'openai'), 'm');
    assert.deepEqual(toOpenAi['messages'], [OPENAI_IMAGE_MESSAGE]);
    const toAnthropic = writeAnthropicRequest(readOpenAiRequest(json({ model: 'm', messages: [OPENAI_IMAGE_MESSAGE] }), 'anthropic'), 'm');
    assert.deepEqual(toAnthropic['messages'], [ANTHROPIC_IMAGE_MESSAGE]);
    const link = writeAnthropicRequest(readOpenAiRequest(json({ model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] }), 'anthropic'), 'm');
    assert.deepEqual(link['messages'], [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } }] }]);
  });

  it('sampling, stops, tool choice, streams: each field in the other dialect’s name', () => {
    const anthropic = json({
      model: 'm',
      max_tokens: 300,
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ['END'],
      stream: true,
      metadata: { user_id: 'u-1' },
      tools: [ANTHROPIC_TOOL_ROUND_TRIP.tools[0]],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      messages: [{ role: 'user', content: 'hi' }],
    });
    const openai = writeOpenAiRequest(readAnthropicRequest(anthropic, 'openai'), 'm');
    assert.equal(openai['max_tokens'], 300);
    assert.equal(openai['temperature'], 0.5);
    assert.equal(openai['top_p'], 0.9);
    assert.equal(openai['top_k'], 40);
    assert.deepEqual(openai['stop'], ['END']);
    assert.equal(openai['user'], 'u-1');
    assert.equal(openai['tool_choice'], 'required');
    assert.equal(openai['parallel_tool_calls'], false);
    assert.deepEqual([openai['stream'], openai['stream_options']], [true, { include_usage: true }], 'usage asked for: the gateway counts tokens from it');
    const back = writeAnthropicRequest(readOpenAiRequest(openai, 'anthropic'), 'm');
    assert.deepEqual(back['tool_choice'], { type: 'any', disable_parallel_tool_use: true });
    assert.deepEqual(back['stop_sequences'], ['END']);
    assert.deepEqual(back['metadata'], { user_id: 'u-1' });
  });

  it('a Chat Completions call without max_tokens gets the documented default for the Messages API, which requires one', () => {
    const r = writeAnthropicRequest(readOpenAiRequest(json({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }), 'anthropic'), 'm');
    assert.equal(r['max_tokens'], 4096);
  });

  it('a failed tool says so: is_error on the Messages side, in the text on the Chat Completions side', () => {
    const req = json({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'no such city' }], is_error: true }] }] });
    assert.deepEqual(writeOpenAiRequest(readAnthropicRequest(req, 'openai'), 'm')['messages'], [{ role: 'tool', tool_call_id: 't1', content: 'Error: no such city' }]);
  });

  const refused: ReadonlyArray<readonly [string, () => unknown, RegExp]> = [
    ['n: 2', () => readOpenAiRequest(json({ model: 'm', n: 2, messages: [{ role: 'user', content: 'x' }] }), 'anthropic'), /`n` cannot be translated for a service that speaks the anthropic API/],
    ['logprobs', () => readOpenAiRequest(json({ model: 'm', logprobs: true, messages: [{ role: 'user', content: 'x' }] }), 'anthropic'), /`logprobs`/],
    ['response_format json_schema', () => readOpenAiRequest(json({ model: 'm', response_format: { type: 'json_schema' }, messages: [{ role: 'user', content: 'x' }] }), 'anthropic'), /`response_format`/],
    ['audio input', () => readOpenAiRequest(json({ model: 'm', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }] }] }), 'anthropic'), /messages\[0\]\.content\[0\]\.type: input_audio/],
    ['a strict tool', () => writeAnthropicRequest(readOpenAiRequest(json({ model: 'm', tools: [{ type: 'function', function: { name: 'f', strict: true } }], messages: [{ role: 'user', content: 'x' }] }), 'anthropic'), 'm'), /strict \(tool f, tools\[0\]\)/],
    ['a system message mid-conversation', () => readOpenAiRequest(json({ model: 'm', messages: [{ role: 'user', content: 'x' }, { role: 'system', content: 'y' }] }), 'anthropic'), /messages\[1\]\.role: system/],
    ['temperature above 1', () => writeAnthropicRequest(readOpenAiRequest(json({ model: 'm', temperature: 1.5, messages: [{ role: 'user', content: 'x' }] }), 'anthropic'), 'm'), /temperature: 1\.5.*0 to 1/],
    ['extended thinking', () => readAnthropicRequest(json({ model: 'm', max_tokens: 9, thinking: { type: 'enabled', budget_tokens: 2000 }, messages: [{ role: 'user', content: 'x' }] }), 'openai'), /`thinking` cannot be translated for a service that speaks the openai API/],
    ['a document block', () => readAnthropicRequest(json({ model: 'm', max_tokens: 9, messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }] }), 'openai'), /messages\[0\]\.content\[0\]\.type: document/],
    ['a server tool', () => readAnthropicRequest(json({ model: 'm', max_tokens: 9, tools: [{ type: 'web_search_20250305', name: 'web_search' }], messages: [{ role: 'user', content: 'x' }] }), 'openai'), /tools\[0\]\.type: web_search_20250305/],
    ['an image in a tool result', () => writeOpenAiRequest(readAnthropicRequest(json({ model: 'm', max_tokens: 9, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [ANTHROPIC_IMAGE_MESSAGE.content[0]] }] }] }), 'openai'), 'm'), /an image in a tool result/],
  ];
  for (const [what, run, message] of refused) {
    it(`refuses ${what}, naming it`, () => assert.throws(run, (err: unknown) => err instanceof UntranslatableError && message.test(err.message)));
  }

  it('a request invalid in its own dialect: the field named', () => {
    assert.throws(() => readAnthropicRequest(json({ model: 'm', messages: [{ role: 'user', content: 'x' }] }), 'openai'), (e: unknown) => e instanceof InvalidRequestError && e.param === 'max_tokens');
    assert.throws(() => readOpenAiRequest(json({ model: 'm', messages: [{ role: 'user', content: 5 }] }), 'anthropic'), (e: unknown) => e instanceof InvalidRequestError && /messages\[0\]\.content: must be an array/.test(e.message));
  });

  it('things that change no answer are accepted and not carried: cache_control, earlier thinking, n: 1', () => {
    const r = readAnthropicRequest(
      json({ model: 'm', max_tokens: 9, system: [{ type: 'text', text: 'be brief', cache_control: { type: 'ephemeral' } }], messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: 's' }, { type: 'text', text: 'y' }] }] }),
      'openai',
    );
    assert.deepEqual(writeOpenAiRequest(r, 'm')['messages'], [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }]);
    assert.doesNotThrow(() => readOpenAiRequest(json({ model: 'm', n: 1, logprobs: false, messages: [{ role: 'user', content: 'x' }] }), 'anthropic'));
  });
});

describe('answers between dialects', () => {
  it('a Messages answer with a tool call, as a chat.completion, and back', () => {
    const t = translator('anthropic', 'openai', { stream: false });
    const out = JSON.parse(translated(t, Buffer.from(JSON.stringify(ANTHROPIC_TOOL_ANSWER)), [7]));
    assert.deepEqual(out, OPENAI_TOOL_ANSWER);
    assert.deepEqual(t.result(), { input: 472, output: 89, cachedInput: 0 });
    const back = JSON.parse(translated(translator('openai', 'anthropic', { stream: false }), Buffer.from(JSON.stringify(OPENAI_TOOL_ANSWER)), []));
    assert.deepEqual(back, ANTHROPIC_TOOL_ANSWER);
  });

  it('cached prompt tokens: Chat Completions counts them in prompt_tokens, the Messages API apart', () => {
    const a = SERVICES.openai.readAnswer({ ...OPENAI_TOOL_ANSWER, usage: { prompt_tokens: 100, completion_tokens: 5, total_tokens: 105, prompt_tokens_details: { cached_tokens: 60 } } })!;
    assert.deepEqual(CLIENTS.anthropic.writeAnswer(a, 0)['usage'], { input_tokens: 40, output_tokens: 5, cache_read_input_tokens: 60, cache_creation_input_tokens: 0 });
    assert.deepEqual(SERVICES.anthropic.readAnswer(CLIENTS.anthropic.writeAnswer(a, 0))!.usage, a.usage);
  });

  it('reasoning is carried, not dropped: vLLM\u2019s reasoning_content as a thinking block, Anthropic\u2019s thinking as reasoning_content', () => {
    const vllm = { ...OPENAI_TOOL_ANSWER, choices: [{ index: 0, message: { role: 'assistant', content: 'It is 42.', reasoning_content: 'Six times seven.' }, logprobs: null, finish_reason: 'stop' }] };
    const asAnthropic = JSON.parse(translated(translator('openai', 'anthropic', { stream: false }), Buffer.from(JSON.stringify(vllm)), []));
    assert.deepEqual(asAnthropic.content, [{ type: 'thinking', thinking: 'Six times seven.', signature: '' }, { type: 'text', text: 'It is 42.' }]);
    const claude = { ...ANTHROPIC_TOOL_ANSWER, content: [{ type: 'thinking', thinking: 'Six times seven.', signature: 'sig' }, { type: 'text', text: 'It is 42.' }], stop_reason: 'end_turn' };
    const asOpenAi = JSON.parse(translated(translator('anthropic', 'openai', { stream: false }), Buffer.from(JSON.stringify(claude)), []));
    assert.deepEqual(asOpenAi.choices[0].message, { role: 'assistant', content: 'It is 42.', reasoning_content: 'Six times seven.' });
    // Streamed: vLLM's reasoning deltas become a thinking block before the text block.
    const stream = [
      'data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Six"},"finish_reason":null}]}',
      'data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{"reasoning_content":" times seven."},"finish_reason":null}]}',
      'data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"It is 42."},"finish_reason":"stop"}]}',
      'data: [DONE]',
      '',
    ].join('\n\n');
    const evs = events(translated(translator('openai', 'anthropic', { stream: true }), Buffer.from(stream), []));
    const blocks = evs.filter((e) => e['type'] === 'content_block_start').map((e) => (e['content_block'] as { type: string }).type);
    assert.deepEqual(blocks, ['thinking', 'text']);
    assert.equal(evs.filter((e) => (e['delta'] as { type?: string } | undefined)?.type === 'thinking_delta').map((e) => (e['delta'] as { thinking: string }).thinking).join(''), 'Six times seven.');
  });

  it('errors in the caller’s shape, the status kept', () => {
    const toOpenAi = JSON.parse(translated(translator('anthropic', 'openai', { stream: false, status: 404 }), Buffer.from(JSON.stringify(ANTHROPIC_NOT_FOUND)), []));
    assert.deepEqual(toOpenAi, { error: { message: 'The requested resource could not be found.', type: 'invalid_request_error', param: null, code: 'not_found_error' } });
    // A failed stream is a JSON error too.
    const toAnthropic = JSON.parse(translated(translator('openai', 'anthropic', { stream: true, status: 429 }), Buffer.from(JSON.stringify(OPENAI_RATE_LIMITED)), [3]));
    assert.deepEqual(toAnthropic, { type: 'error', error: { type: 'rate_limit_error', message: 'Rate limit reached for requests' } });
  });

  it('one dialect on both sides: the bytes pass unchanged and the usage is read', () => {
    const bytes = Buffer.from(ANTHROPIC_TOOL_STREAM);
    const t = translator('anthropic', 'anthropic', { stream: true });
    assert.equal(translated(t, bytes, [100, 900]), ANTHROPIC_TOOL_STREAM);
    assert.equal(t.rewrites, false);
    assert.deepEqual(t.result(), { input: 472, output: 89, cachedInput: 0 });
  });
});

describe('streams between dialects, cut at every byte', () => {
  it('a Messages stream with text and a tool call, as Chat Completions chunks', () => {
    const bytes = Buffer.from(ANTHROPIC_TOOL_STREAM);
    const whole = translated(translator('anthropic', 'openai', { stream: true, streamUsage: true }), bytes, []);
    const chunks = whole.split('\n\n').filter(Boolean);
    assert.equal(chunks[chunks.length - 1], 'data: [DONE]');
    const parsed = chunks.slice(0, -1).map((c) => JSON.parse(c.slice('data: '.length)) as { choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }>; usage?: unknown });
    const text = parsed.map((c) => c.choices[0]?.delta['content'] ?? '').join('');
    assert.equal(text, "Okay, let's check the weather.");
    const calls = parsed.flatMap((c) => (c.choices[0]?.delta['tool_calls'] as Array<{ id?: string; function: { name?: string; arguments: string } }> | undefined) ?? []);
    assert.equal(calls[0]!.id, 'toolu_01T1x1fJ34qAmk2tNTrN7Up6');
    assert.equal(calls[0]!.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(calls.map((c) => c.function.arguments).join('')), { location: 'San Francisco, CA' });
    assert.deepEqual(parsed.map((c) => c.choices[0]?.finish_reason).filter(Boolean), ['tool_calls']);
    assert.deepEqual(parsed[parsed.length - 1]!.usage, { prompt_tokens: 472, completion_tokens: 89, total_tokens: 561 });
    for (let cut = 1; cut < bytes.length; cut++) assert.equal(translated(translator('anthropic', 'openai', { stream: true, streamUsage: true }), bytes, [cut]), whole, `cut at ${cut}`);
  });

  it('a Chat Completions stream, as Messages events in the order the Anthropic SDK reads them', () => {
    const bytes = Buffer.from(OPENAI_TEXT_STREAM);
    const t = translator('openai', 'anthropic', { stream: true });
    const whole = translated(t, bytes, []);
    const evs = events(whole);
    assert.deepEqual(
      evs.map((e) => e['type']),
      ['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'],
    );
    assert.equal(evs.filter((e) => e['type'] === 'content_block_delta').map((e) => (e['delta'] as { text: string }).text).join(''), 'Hello wörld');
    assert.deepEqual(evs[5], { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { input_tokens: 5, output_tokens: 2, cache_read_input_tokens: 4, cache_creation_input_tokens: 0 } });
    assert.match(whole, /^event: message_start\ndata: /);
    assert.deepEqual(t.result(), { input: 9, output: 2, cachedInput: 4 });
    // Every cut, including inside the two bytes of "ö".
    for (let cut = 1; cut < bytes.length; cut++) assert.equal(translated(translator('openai', 'anthropic', { stream: true }), bytes, [cut]), whole, `cut at ${cut}`);
    for (let cut = 1; cut + 7 < bytes.length; cut += 7) assert.equal(translated(translator('openai', 'anthropic', { stream: true }), bytes, [cut, cut + 3, cut + 7]), whole, `cuts at ${cut}, +3, +7`);
  });

  it('a stream cut short still ends in the caller’s dialect', () => {
    const cut = OPENAI_TEXT_STREAM.slice(0, OPENAI_TEXT_STREAM.indexOf('"finish_reason":"stop"') - 200);
    const evs = events(translated(translator('openai', 'anthropic', { stream: true }), Buffer.from(cut), []));
    assert.deepEqual(evs.slice(-2).map((e) => e['type']), ['message_delta', 'message_stop']);
  });

  it('a Messages stream that fails midway: an error event in the caller\u2019s dialect, where the OpenAI SDK raises it', () => {
    const failing = ANTHROPIC_TOOL_STREAM.slice(0, ANTHROPIC_TOOL_STREAM.indexOf('event: content_block_stop')) + 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
    const out = translated(translator('anthropic', 'openai', { stream: true }), Buffer.from(failing), []);
    const last = out.split('\n\n').filter(Boolean).slice(-2);
    assert.deepEqual(JSON.parse(last[0]!.slice('data: '.length)), { error: { message: 'Overloaded', type: 'server_error', param: null, code: 'overloaded_error' } });
    assert.equal(last[1], 'data: [DONE]');
  });

  it('a streamed event past the bound: passed on unread between one dialect, ended with an error in the caller\u2019s between two', () => {
    const huge = `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${'x'.repeat((1 << 20) + 10)}"}}\n\n`;
    const head = ANTHROPIC_TOOL_STREAM.slice(0, ANTHROPIC_TOOL_STREAM.indexOf('event: content_block_stop'));
    // Cut before the event's end: more than the bound waits for it.
    const cut = head.length + huge.length - 2;
    const same = translator('anthropic', 'anthropic', { stream: true });
    assert.ok(translated(same, Buffer.from(head + huge), [cut]) === head + huge, 'the bytes passed on unchanged');
    const other = translated(translator('anthropic', 'openai', { stream: true }), Buffer.from(head + huge + 'event: message_stop\ndata: {"type":"message_stop"}\n\n'), [cut]);
    const last = other.split('\n\n').filter(Boolean).slice(-2);
    assert.ok(other.length < 10_000, `the event is not passed on (${other.length} bytes)`);
    assert.match(last[0]!, /"error":\{"message":"the service's stream could not be translated: a streamed event is longer than 1048576 bytes"/);
    assert.equal(last[1], 'data: [DONE]');
  });

  it('Chat Completions usage in the stream only when the caller asked for it', () => {
    const without = translated(translator('anthropic', 'openai', { stream: true, streamUsage: false }), Buffer.from(ANTHROPIC_TOOL_STREAM), []);
    assert.doesNotMatch(without, /"usage"/);
  });
});

describe('Ollama as a service', () => {
  it('a tool round trip with an image, as Ollama\u2019s chat takes it: base64 images, tool results by name, sampling in options', () => {
    const neutral = readAnthropicRequest(
      json({
        ...ANTHROPIC_TOOL_ROUND_TRIP,
        temperature: 0.2,
        stop_sequences: ['END'],
        messages: [{ role: 'user', content: [ANTHROPIC_IMAGE_MESSAGE.content[0], { type: 'text', text: "What's the weather like in San Francisco?" }] }, ...ANTHROPIC_TOOL_ROUND_TRIP.messages.slice(1)],
      }),
      'ollama',
    );
    assert.deepEqual(writeOllamaRequest(neutral, 'llama3.2'), {
      model: 'llama3.2',
      messages: [
        { role: 'system', content: 'You are a helpful assistant.' },
        { role: 'user', content: "What's the weather like in San Francisco?", images: ['/9j/4AAQSkZJRg=='] },
        { role: 'assistant', content: "I'll check the current weather in San Francisco for you.", tool_calls: [{ function: { name: 'get_weather', arguments: { location: 'San Francisco, CA' } } }] },
        { role: 'tool', content: '15 degrees', tool_name: 'get_weather' },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Get the current weather in a given location', parameters: ANTHROPIC_TOOL_ROUND_TRIP.tools[0]!.input_schema } }],
      options: { temperature: 0.2, num_predict: 1024, stop: ['END'] },
      stream: false,
    });
  });

  it('refuses what Ollama cannot be told, naming it: a forced tool, an image by URL', () => {
    const base = { model: 'm', tools: [{ type: 'function', function: { name: 'f' } }], messages: [{ role: 'user', content: 'x' }] };
    assert.throws(() => writeOllamaRequest(readOpenAiRequest(json({ ...base, tool_choice: 'required' }), 'ollama'), 'm'), (e: unknown) => e instanceof UntranslatableError && e.feature === 'tool_choice');
    const link = { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }] };
    assert.throws(() => writeOllamaRequest(readOpenAiRequest(json(link), 'ollama'), 'm'), (e: unknown) => e instanceof UntranslatableError && /an image by URL/.test(e.message));
  });

  it('its answer with a tool call, for both kinds of caller: the call given an id, the counts as usage', () => {
    const toOpenAi = JSON.parse(translated(translator('ollama', 'openai', { stream: false }), Buffer.from(JSON.stringify(OLLAMA_TOOL_ANSWER)), [5]));
    const call = toOpenAi.choices[0].message.tool_calls[0];
    assert.match(call.id, /^call_[0-9a-f]{24}$/);
    assert.deepEqual([call.function.name, JSON.parse(call.function.arguments)], ['get_current_weather', { format: 'celsius', location: 'Paris, FR' }]);
    assert.equal(toOpenAi.choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(toOpenAi.usage, { prompt_tokens: 122, completion_tokens: 33, total_tokens: 155 });
    const toAnthropic = JSON.parse(translated(translator('ollama', 'anthropic', { stream: false }), Buffer.from(JSON.stringify(OLLAMA_TOOL_ANSWER)), []));
    assert.deepEqual(toAnthropic.content, [{ type: 'tool_use', id: call.id, name: 'get_current_weather', input: { format: 'celsius', location: 'Paris, FR' } }]);
    assert.equal(toAnthropic.stop_reason, 'tool_use');
  });

  it('its newline-delimited stream, as Messages events and as Chat Completions chunks, cut at every byte', () => {
    const bytes = Buffer.from(OLLAMA_TEXT_STREAM);
    const asAnthropic = translated(translator('ollama', 'anthropic', { stream: true }), bytes, []);
    const evs = events(asAnthropic);
    assert.equal(evs.filter((e) => e['type'] === 'content_block_delta').map((e) => (e['delta'] as { text: string }).text).join(''), 'The sky');
    assert.deepEqual((evs.find((e) => e['type'] === 'message_delta') as { usage: unknown }).usage, { input_tokens: 26, output_tokens: 282, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    const asOpenAi = translated(translator('ollama', 'openai', { stream: true, streamUsage: true }), bytes, []);
    assert.match(asOpenAi, /"usage":\{"prompt_tokens":26,"completion_tokens":282,"total_tokens":308\}/);
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.equal(translated(translator('ollama', 'anthropic', { stream: true }), bytes, [cut]), asAnthropic, `cut at ${cut}`);
      assert.equal(translated(translator('ollama', 'openai', { stream: true, streamUsage: true }), bytes, [cut]), asOpenAi, `cut at ${cut}`);
    }
  });
});

describe('OpenAI Responses as a caller', () => {
  it('the documented function-calling request, as Chat Completions takes it (strict kept for a service that honours it)', () => {
    assert.deepEqual(writeOpenAiRequest(readResponsesRequest(json(RESPONSES_FUNCTION_REQUEST), 'openai'), 'gpt-4.1'), {
      model: 'gpt-4.1',
      messages: [{ role: 'user', content: 'What is the weather like in Paris today?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Get current temperature for a given location.', parameters: RESPONSES_FUNCTION_REQUEST.tools[0]!.parameters, strict: true } }],
    });
  });

  it('a function call and its output in the input, as a tool round trip', () => {
    const r = readResponsesRequest(
      json({ model: 'm', instructions: 'be brief', input: [{ role: 'user', content: 'hi' }, { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{"a":1}' }, { type: 'function_call_output', call_id: 'call_1', output: 'ok' }] }),
      'anthropic',
    );
    assert.deepEqual(writeAnthropicRequest(r, 'm')['messages'], [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'call_1', name: 'f', input: { a: 1 } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: 'ok' }] },
    ]);
  });

  it('refuses what needs stored state, naming it', () => {
    for (const [body, feature] of [
      [{ model: 'm', input: 'x', previous_response_id: 'resp_1' }, 'previous_response_id'],
      [{ model: 'm', input: 'x', conversation: 'conv_1' }, 'conversation'],
      [{ model: 'm', input: 'x', store: true }, 'store: true'],
      [{ model: 'm', input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input[0].type: item_reference'],
      [{ model: 'm', input: 'x', tools: [{ type: 'web_search' }] }, 'tools[0].type: web_search'],
    ] as const) {
      assert.throws(() => readResponsesRequest(json(body), 'openai'), (e: unknown) => e instanceof UntranslatableError && e.feature === feature, feature);
    }
  });

  it('a Chat Completions stream as Responses events, numbered in order, ending with the whole response; cut at every byte', () => {
    const bytes = Buffer.from(OPENAI_TEXT_STREAM);
    const whole = translated(translator('openai', 'openai-responses', { stream: true }), bytes, []);
    const evs = events(whole);
    assert.deepEqual(evs.map((e) => e['type']), [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    assert.deepEqual(evs.map((e) => e['sequence_number']), evs.map((_, i) => i));
    const done = evs[evs.length - 1]!['response'] as { status: string; output: Array<{ content: Array<{ text: string }> }>; usage: unknown };
    assert.equal(done.status, 'completed');
    assert.equal(done.output[0]!.content[0]!.text, 'Hello wörld');
    assert.deepEqual(done.usage, { input_tokens: 9, input_tokens_details: { cached_tokens: 4 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 11 });
    for (let cut = 1; cut < bytes.length; cut++) assert.equal(translated(translator('openai', 'openai-responses', { stream: true }), bytes, [cut]), whole, `cut at ${cut}`);
  });

  it('an answer cut by max_output_tokens is incomplete, and says why', () => {
    const a = JSON.parse(translated(translator('anthropic', 'openai-responses', { stream: false }), Buffer.from(JSON.stringify({ ...ANTHROPIC_TOOL_ANSWER, content: [{ type: 'text', text: 'Once' }], stop_reason: 'max_tokens' })), []));
    assert.equal(a.status, 'incomplete');
    assert.deepEqual(a.incomplete_details, { reason: 'max_output_tokens' });
  });
});
