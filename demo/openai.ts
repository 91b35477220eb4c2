// Deterministic OpenAI-compatible answers: the same request always gets the same content, so
// tests and demos can assert on it. Tokens are counted as whitespace-separated words of every
// message's text. Requests are checked against OpenAI's Chat Completions message schema as vLLM
// accepts it: content as a string or a list of parts, an assistant's tool calls, tool results.
import { createHash } from 'node:crypto';
import { contentText, messagesText } from '../shared/openai-messages.js';

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: string;
  /** A string, a list of content parts, or null (an assistant turn that only calls tools). */
  content?: unknown;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  name?: string;
}

export interface ChatRequest {
  model?: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  tools?: Array<{ type: 'function'; function: { name: string } }>;
  tool_choice?: unknown;
}

export function countTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

export const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The content parts each role may send (OpenAI's ChatCompletion*MessageParam). */
const PARTS: Readonly<Record<string, ReadonlySet<string>>> = {
  system: new Set(['text']),
  developer: new Set(['text']),
  user: new Set(['text', 'image_url', 'input_audio', 'file']),
  assistant: new Set(['text', 'refusal']),
  tool: new Set(['text']),
};

/** The field each part type carries, and what it must be. */
function partProblem(part: unknown, allowed: ReadonlySet<string>): string | undefined {
  if (!isObject(part) || typeof part['type'] !== 'string') return 'must be an object with a string "type"';
  const type = part['type'];
  if (!allowed.has(type)) return `type "${type}" is not allowed here (allowed: ${[...allowed].join(', ')})`;
  if (type === 'text' && typeof part['text'] !== 'string') return 'a text part needs a string "text"';
  if (type === 'refusal' && typeof part['refusal'] !== 'string') return 'a refusal part needs a string "refusal"';
  if (type === 'image_url' && !(isObject(part['image_url']) && typeof part['image_url']['url'] === 'string')) return 'an image_url part needs "image_url": {"url": string}';
  if (type === 'input_audio' && !(isObject(part['input_audio']) && typeof part['input_audio']['data'] === 'string')) return 'an input_audio part needs "input_audio": {"data": string, "format": string}';
  if (type === 'file' && !isObject(part['file'])) return 'a file part needs "file": {…}';
  return undefined;
}

function contentProblem(content: unknown, role: string, mayBeAbsent: boolean): string | undefined {
  if (typeof content === 'string') return undefined;
  if (content === undefined || content === null) return mayBeAbsent ? undefined : '"content" must be a string or a list of content parts';
  if (!Array.isArray(content)) return '"content" must be a string or a list of content parts';
  for (const [j, part] of content.entries()) {
    const p = partProblem(part, PARTS[role]!);
    if (p) return `content[${j}] ${p}`;
  }
  return undefined;
}

function toolCallsProblem(calls: unknown): string | undefined {
  if (calls === undefined) return undefined;
  if (!Array.isArray(calls)) return '"tool_calls" must be a list';
  for (const [j, c] of calls.entries()) {
    if (!isObject(c) || typeof c['id'] !== 'string' || c['type'] !== 'function' || !isObject(c['function'])) return `tool_calls[${j}] must have a string "id", "type": "function" and "function"`;
    const f = c['function'];
    if (typeof f['name'] !== 'string' || typeof f['arguments'] !== 'string') return `tool_calls[${j}].function must have string "name" and "arguments"`;
  }
  return undefined;
}

function messageProblem(m: unknown): string | undefined {
  if (!isObject(m) || typeof m['role'] !== 'string') return 'must be an object with a string "role"';
  const role = m['role'];
  if (role === 'function') return typeof m['name'] === 'string' ? undefined : 'a function message needs a string "name"';
  if (!PARTS[role]) return `role "${role}" is not one of system, developer, user, assistant, tool, function`;
  if (role === 'assistant') {
    const calls = toolCallsProblem(m['tool_calls']);
    if (calls) return calls;
    return contentProblem(m['content'], role, m['tool_calls'] !== undefined || m['function_call'] !== undefined);
  }
  if (role === 'tool' && typeof m['tool_call_id'] !== 'string') return 'a tool message needs a string "tool_call_id"';
  return contentProblem(m['content'], role, false);
}

/** Why a body is not a chat request, or undefined when it is one. */
export function chatRequestProblem(body: unknown): string | undefined {
  if (!isObject(body)) return 'the body must be a JSON object';
  const messages = body['messages'];
  if (!Array.isArray(messages) || messages.length === 0) return '"messages" must be a non-empty array';
  for (const [i, m] of messages.entries()) {
    const problem = messageProblem(m);
    if (problem) return `messages[${i}]: ${problem}`;
  }
  const tools = body['tools'];
  if (tools !== undefined && !(Array.isArray(tools) && tools.every((t) => isObject(t) && t['type'] === 'function' && isObject(t['function']) && typeof t['function']['name'] === 'string'))) {
    return '"tools" must be a list of {"type": "function", "function": {"name": string, …}}';
  }
  return undefined;
}

/** The tool the request makes the model call: a named tool_choice, or the first tool when "required". */
function forcedTool(request: ChatRequest): string | undefined {
  const choice = request.tool_choice;
  if (isObject(choice) && isObject(choice['function']) && typeof choice['function']['name'] === 'string') return choice['function']['name'];
  if (choice === 'required') return request.tools?.[0]?.function.name;
  return undefined;
}

/** The demo's answer: a tool call when one is forced, else an echo of the last user turn, or of the tool's result when a tool spoke last. */
export function chatAnswer(request: ChatRequest): { content: string | null; toolCalls?: ToolCall[] } {
  const last = request.messages[request.messages.length - 1]!;
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user');
  const asked = contentText(lastUser?.content);
  const tool = last.role === 'tool' ? undefined : forcedTool(request);
  if (tool) {
    const id = `call_${createHash('sha256').update(`${tool}\u0000${asked}`).digest('hex').slice(0, 12)}`;
    return { content: null, toolCalls: [{ id, type: 'function', function: { name: tool, arguments: JSON.stringify({ input: asked }) } }] };
  }
  if (last.role === 'tool') return { content: `Tool said: ${contentText(last.content)}` };
  return { content: `You said: ${asked}` };
}

/** The text part of the answer (empty for a tool call). */
export function chatReply(request: ChatRequest): string {
  return chatAnswer(request).content ?? '';
}

export function chatCompletion(request: ChatRequest, instance: string, now: Date = new Date()): Record<string, unknown> {
  const answer = chatAnswer(request);
  const prompt = countTokens(request.messages.map((m) => contentText(m.content)).join(' '));
  const completion = countTokens(answer.content ?? '') + (answer.toolCalls ? countTokens(answer.toolCalls.map((c) => `${c.function.name} ${c.function.arguments}`).join(' ')) : 0);
  return {
    id: `chatcmpl-${createHash('sha256').update(messagesText(request.messages)).digest('hex').slice(0, 12)}`,
    object: 'chat.completion',
    created: Math.floor(now.getTime() / 1000),
    model: request.model ?? 'meshgate-demo',
    system_fingerprint: instance,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: answer.content, ...(answer.toolCalls ? { tool_calls: answer.toolCalls } : {}) },
        finish_reason: answer.toolCalls ? 'tool_calls' : 'stop',
      },
    ],
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  };
}

export function embedding(input: string, dimensions = 8): number[] {
  const digest = createHash('sha256').update(input).digest();
  return Array.from({ length: dimensions }, (_, i) => Math.round(((digest[i]! / 255) * 2 - 1) * 1e4) / 1e4);
}
