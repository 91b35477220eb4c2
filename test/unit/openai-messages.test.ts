// Every message shape OpenAI's SDKs send — content parts, images, an assistant turn that only
// calls tools, tool results — accepted by the demo model services like vLLM accepts them, read
// as text by the request log, and reassembled from a stream's tool-call deltas.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chatCompletion, chatRequestProblem } from '../../demo/openai.js';
import { completionOf, promptOf } from '../../ext-proc/log/request-log.js';
import { StreamUsageReader } from '../../ext-proc/openai/usage.js';
import { cacheKey } from '../../ext-proc/cache/key.js';

const TOOLS = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object' } } }];
const CONVERSATION = [
  { role: 'developer', content: [{ type: 'text', text: 'be brief' }] },
  { role: 'user', content: [{ type: 'text', text: 'weather in' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }, { type: 'text', text: 'Oslo?' }] },
  { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
  { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: 'sunny, 21 C' }] },
];

describe('OpenAI chat messages in every shape', () => {
  it('are accepted by the demo model service, as vLLM accepts them', () => {
    assert.equal(chatRequestProblem({ messages: CONVERSATION, tools: TOOLS }), undefined);
    assert.equal(chatRequestProblem({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA', format: 'wav' } }] }] }), undefined);
    assert.equal(chatRequestProblem({ messages: [{ role: 'assistant', content: [{ type: 'refusal', refusal: 'no' }] }] }), undefined);
  });

  it('are refused with the field that is wrong', () => {
    assert.equal(chatRequestProblem({}), '"messages" must be a non-empty array');
    assert.equal(chatRequestProblem({ messages: [{ role: 'user' }] }), 'messages[0]: "content" must be a string or a list of content parts');
    assert.equal(chatRequestProblem({ messages: [{ role: 'robot', content: 'x' }] }), 'messages[0]: role "robot" is not one of system, developer, user, assistant, tool, function');
    assert.equal(chatRequestProblem({ messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }), 'messages[0]: content[0] type "image_url" is not allowed here (allowed: text)');
    assert.equal(chatRequestProblem({ messages: [{ role: 'tool', content: 'x' }] }), 'messages[0]: a tool message needs a string "tool_call_id"');
    assert.equal(chatRequestProblem({ messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f' } }] }] }), 'messages[0]: tool_calls[0].function must have string "name" and "arguments"');
    assert.equal(chatRequestProblem({ messages: [{ role: 'assistant', content: null }] }), 'messages[0]: "content" must be a string or a list of content parts');
  });

  it('are answered: a forced tool call, then the tool’s result echoed, the usage counting every text part', () => {
    const call = chatCompletion({ messages: CONVERSATION.slice(0, 2), tools: TOOLS, tool_choice: 'required' }, 'i-1', new Date(0));
    const choice = (call['choices'] as Array<{ message: { content: unknown; tool_calls: Array<{ function: { name: string; arguments: string } }> }; finish_reason: string }>)[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    assert.deepEqual(choice.message.tool_calls[0]!.function, { name: 'get_weather', arguments: '{"input":"weather in\\n[image_url]\\nOslo?"}' });
    const after = chatCompletion({ messages: CONVERSATION, tools: TOOLS }, 'i-1', new Date(0));
    assert.equal((after['choices'] as Array<{ message: { content: string } }>)[0]!.message.content, 'Tool said: sunny, 21 C');
    assert.equal((after['usage'] as { prompt_tokens: number }).prompt_tokens, 9, 'be brief / weather in [image_url] Oslo? / sunny, 21 C');
  });

  it('are logged as text, content parts reassembled, tool calls and results named', () => {
    assert.equal(
      promptOf({ messages: CONVERSATION }),
      ['developer: be brief', 'user: weather in\n[image_url]\nOslo?', 'assistant: [tool_call get_weather({"city":"Oslo"})]', 'tool (call_1): sunny, 21 C'].join('\n'),
    );
    assert.equal(promptOf({ prompt: 'plain' }), 'plain');
    assert.equal(completionOf({ choices: [{ message: { role: 'assistant', content: null, tool_calls: CONVERSATION[2]!.tool_calls } }] }), '[tool_call get_weather({"city":"Oslo"})]');
  });

  it('have a stream’s tool call reassembled from its deltas, wherever the stream is cut', () => {
    const event = (delta: unknown): string => `data: ${JSON.stringify({ choices: [{ index: 0, delta }] })}\n\n`;
    const stream =
      event({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }) +
      event({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }) +
      event({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }) +
      'data: [DONE]\n\n';
    const bytes = Buffer.from(stream);
    for (let at = 1; at < bytes.length; at += 3) {
      const reader = new StreamUsageReader(false, 1 << 20, 4096);
      reader.push(bytes.subarray(0, at));
      reader.push(bytes.subarray(at));
      reader.end();
      assert.equal(reader.text(), '[tool_call get_weather({"city":"Oslo"})]', `cut at ${at}`);
    }
  });

  it('key the cache by the whole conversation: another image is another key', () => {
    const other = structuredClone(CONVERSATION);
    (other[1]!.content as Array<Record<string, unknown>>)[1] = { type: 'image_url', image_url: { url: 'data:image/png;base64,BBBB' } };
    assert.notEqual(cacheKey('t', 'chat', { model: 'm', messages: CONVERSATION }), cacheKey('t', 'chat', { model: 'm', messages: other }));
  });
});
