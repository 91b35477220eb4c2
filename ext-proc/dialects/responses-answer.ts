// The answer of OpenAI's Responses API, written from the neutral form: a `response` object whose
// output items are a reasoning item, a message with output_text, and function_call items, with
// usage as input_tokens / output_tokens. An answer cut by max_output_tokens is `incomplete`.
// The gateway keeps nothing: `store` is false. Errors are OpenAI's error shape.
import { createHash } from 'node:crypto';
import type { Answer, Part, StopReason, Usage } from './neutral.js';
import type { Json } from './read-json.js';

/** An output item's id, stable for the answer (the service's answer id, the item's place). */
export const itemId = (prefix: string, answerId: string, index: number): string => `${prefix}_${createHash('sha256').update(`${answerId}\u0000${index}`).digest('hex').slice(0, 32)}`;

export const responseId = (answerId: string): string => (answerId.startsWith('resp_') ? answerId : `resp_${createHash('sha256').update(answerId).digest('hex').slice(0, 32)}`);

export function responsesUsage(u: Usage | undefined): Json | null {
  if (!u) return null;
  return { input_tokens: u.input, input_tokens_details: { cached_tokens: u.cachedInput }, output_tokens: u.output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: u.input + u.output };
}

export function messageItem(id: string, text: string, status: 'in_progress' | 'completed'): Json {
  return { type: 'message', id, status, role: 'assistant', content: status === 'in_progress' ? [] : [{ type: 'output_text', text, annotations: [] }] };
}

export function functionCallItem(id: string, callId: string, name: string, args: string, status: 'in_progress' | 'completed'): Json {
  return { type: 'function_call', id, call_id: callId, name, arguments: args, status };
}

export function reasoningItem(id: string, text: string): Json {
  return { type: 'reasoning', id, summary: text ? [{ type: 'summary_text', text }] : [] };
}

/** The response object around its output items (what every stream event's `response` and the JSON answer are). */
export function responseObject(id: string, model: string, created: number, status: 'in_progress' | 'completed' | 'incomplete', output: readonly Json[], usage: Usage | undefined): Json {
  return {
    id,
    object: 'response',
    created_at: created,
    status,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: null,
    max_output_tokens: null,
    model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: null,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: null,
    truncation: 'disabled',
    usage: responsesUsage(usage),
    user: null,
    metadata: {},
  };
}

export const statusOf = (stop: StopReason): 'completed' | 'incomplete' => (stop === 'max_tokens' ? 'incomplete' : 'completed');

export function writeResponsesAnswer(a: Answer, created: number): Json {
  const output: Json[] = [];
  const reasoning = a.content.filter((p) => p.type === 'reasoning').map((p) => (p.type === 'reasoning' ? p.text : '')).join('');
  if (reasoning) output.push(reasoningItem(itemId('rs', a.id, output.length), reasoning));
  const text = a.content.filter((p): p is Extract<Part, { type: 'text' }> => p.type === 'text').map((p) => p.text).join('');
  if (text) output.push(messageItem(itemId('msg', a.id, output.length), text, 'completed'));
  for (const p of a.content) if (p.type === 'tool_call') output.push(functionCallItem(itemId('fc', a.id, output.length), p.id, p.name, p.arguments, 'completed'));
  return responseObject(responseId(a.id), a.model, created, statusOf(a.stopReason), output, a.usage);
}
