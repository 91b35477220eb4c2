// A deterministic model service in Anthropic's Messages API (POST /v1/messages,
// /v1/messages/count_tokens), following its public API reference: the anthropic-version header
// required, max_tokens required, content as a string or blocks (text, image, tool_use,
// tool_result, thinking), a forced tool_choice answered with a tool_use block, streams as
// message_start / content blocks / ping / message_delta / message_stop, errors as
// {type: "error", error: {type, message}}. Written apart from the gateway's translators: it is
// what they are tested against. Tokens are whitespace-separated words.
import { createHash } from 'node:crypto';

import { countTokens, isObject } from './openai.js';

type Json = Record<string, unknown>;

export interface AnthropicError {
  readonly status: number;
  readonly body: { type: 'error'; error: { type: string; message: string } };
}

export const anthropicError = (status: number, type: string, message: string): AnthropicError => ({ status, body: { type: 'error', error: { type, message } } });

const BLOCKS: Readonly<Record<string, ReadonlySet<string>>> = {
  user: new Set(['text', 'image', 'tool_result', 'document']),
  assistant: new Set(['text', 'tool_use', 'thinking', 'redacted_thinking']),
};

function blockProblem(b: unknown, role: string): string | undefined {
  if (!isObject(b) || typeof b['type'] !== 'string') return 'must be an object with a string "type"';
  if (!BLOCKS[role]!.has(b['type'])) return `a ${role} turn cannot hold a "${b['type']}" block`;
  if (b['type'] === 'text' && typeof b['text'] !== 'string') return 'text blocks need a string "text"';
  if (b['type'] === 'image') {
    const s = b['source'];
    if (!isObject(s) || !((s['type'] === 'base64' && typeof s['media_type'] === 'string' && typeof s['data'] === 'string') || (s['type'] === 'url' && typeof s['url'] === 'string'))) return 'image blocks need a base64 or url source';
  }
  if (b['type'] === 'tool_use' && (typeof b['id'] !== 'string' || typeof b['name'] !== 'string' || !isObject(b['input']))) return 'tool_use blocks need "id", "name" and an object "input"';
  if (b['type'] === 'tool_result' && typeof b['tool_use_id'] !== 'string') return 'tool_result blocks need "tool_use_id"';
  return undefined;
}

/** Why a body is not a Messages request (400 invalid_request_error), or undefined. */
export function messagesRequestProblem(body: unknown): string | undefined {
  if (!isObject(body)) return 'the body must be a JSON object';
  if (typeof body['model'] !== 'string') return 'model: Field required';
  if (!Number.isInteger(body['max_tokens']) || (body['max_tokens'] as number) < 1) return 'max_tokens: Field required (an integer of at least 1)';
  const messages = body['messages'];
  if (!Array.isArray(messages) || !messages.length) return 'messages: at least one message is required';
  for (const [i, m] of messages.entries()) {
    if (!isObject(m) || (m['role'] !== 'user' && m['role'] !== 'assistant')) return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (typeof m['content'] === 'string') continue;
    if (!Array.isArray(m['content'])) return `messages.${i}.content: must be a string or a list of blocks`;
    for (const [j, b] of m['content'].entries()) {
      const p = blockProblem(b, m['role']);
      if (p) return `messages.${i}.content.${j}: ${p}`;
    }
  }
  if (typeof body['temperature'] === 'number' && (body['temperature'] < 0 || body['temperature'] > 1)) return 'temperature: Input should be less than or equal to 1';
  const tools = body['tools'];
  if (tools !== undefined && !(Array.isArray(tools) && tools.every((t) => isObject(t) && typeof t['name'] === 'string' && isObject(t['input_schema'])))) return 'tools: each needs "name" and "input_schema"';
  return undefined;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b: unknown) => (isObject(b) ? (b['type'] === 'text' ? String(b['text']) : b['type'] === 'tool_result' ? textOf(b['content']) : b['type'] === 'image' ? '[image]' : '') : ''))
    .filter(Boolean)
    .join('\n');
}

export function inputTokens(body: Json): number {
  const system = typeof body['system'] === 'string' ? body['system'] : textOf(body['system']);
  return countTokens(system) + (body['messages'] as Json[]).reduce((n, m) => n + countTokens(textOf(m['content'])), 0);
}

/** The demo's answer: a tool call when one is forced, else an echo of the last user text (or of a tool result). */
export function messagesAnswer(body: Json): Json {
  const messages = body['messages'] as Json[];
  const last = messages[messages.length - 1]!;
  const lastBlocks = Array.isArray(last['content']) ? (last['content'] as Json[]) : [];
  const result = lastBlocks.find((b) => b['type'] === 'tool_result');
  const asked = textOf([...messages].reverse().find((m) => m['role'] === 'user' && !(Array.isArray(m['content']) && (m['content'] as Json[]).every((b) => b['type'] === 'tool_result')))?.['content']);
  const choice = isObject(body['tool_choice']) ? body['tool_choice'] : undefined;
  const tools = Array.isArray(body['tools']) ? (body['tools'] as Json[]) : [];
  const forced = result ? undefined : choice?.['type'] === 'tool' ? String(choice['name']) : choice?.['type'] === 'any' ? (tools[0]?.['name'] as string | undefined) : undefined;
  const images = messages.flatMap((m) => (Array.isArray(m['content']) ? (m['content'] as Json[]) : [])).filter((b) => b['type'] === 'image').length;
  const id = `msg_${createHash('sha256').update(JSON.stringify(messages)).digest('hex').slice(0, 20)}`;
  const content: Json[] = forced
    ? [{ type: 'tool_use', id: `toolu_${createHash('sha256').update(`${forced}\u0000${asked}`).digest('hex').slice(0, 20)}`, name: forced, input: { input: asked } }]
    : [{ type: 'text', text: result ? `Tool said: ${textOf(result['content'])}` : `You said: ${asked}${images ? ` (with ${images} image${images > 1 ? 's' : ''})` : ''}` }];
  const output = forced ? countTokens(`${forced} ${JSON.stringify({ input: asked })}`) : countTokens(String(content[0]!['text']));
  const max = body['max_tokens'] as number;
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: body['model'],
    content,
    stop_reason: forced ? 'tool_use' : output > max ? 'max_tokens' : 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: inputTokens(body), output_tokens: Math.min(output, max), cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}

const event = (type: string, data: Json): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** The answer as the Messages API streams it: a list of events, to be written with pauses between them. */
export function messagesStream(answer: Json): string[] {
  const usage = answer['usage'] as Json;
  const out = [event('message_start', { message: { ...answer, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } }), event('ping', {})];
  for (const [index, b] of (answer['content'] as Json[]).entries()) {
    if (b['type'] === 'text') {
      out.push(event('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      for (const [i, w] of String(b['text']).split(' ').entries()) out.push(event('content_block_delta', { index, delta: { type: 'text_delta', text: (i ? ' ' : '') + w } }));
    } else {
      out.push(event('content_block_start', { index, content_block: { ...b, input: {} } }));
      const json = JSON.stringify(b['input']);
      const half = Math.ceil(json.length / 2);
      for (const part of [json.slice(0, half), json.slice(half)]) out.push(event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: part } }));
    }
    out.push(event('content_block_stop', { index }));
  }
  out.push(event('message_delta', { delta: { stop_reason: answer['stop_reason'], stop_sequence: null }, usage: { output_tokens: usage['output_tokens'] } }));
  out.push(event('message_stop', {}));
  return out;
}
