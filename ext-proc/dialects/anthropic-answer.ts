// Anthropic's Messages answer and error, read into the neutral form and written from it. Usage's
// input_tokens leave out the tokens read from (and written to) the prompt cache, which the neutral
// form counts in: input = input_tokens + cache_read_input_tokens + cache_creation_input_tokens.
import { type Answer, type ApiError, errorKindOf, type ErrorKind, type Part, type StopReason, type Usage } from './neutral.js';
import { isObject, type Json } from './read-json.js';

const STOP_REASONS: ReadonlySet<string> = new Set<StopReason>(['end_turn', 'max_tokens', 'tool_use', 'stop_sequence', 'refusal']);

export const readStopReason = (x: unknown): StopReason => (STOP_REASONS.has(String(x)) ? (x as StopReason) : 'end_turn');

const count = (v: unknown): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0);

export function readAnthropicUsage(u: unknown): Usage | undefined {
  if (!isObject(u)) return undefined;
  const cached = count(u['cache_read_input_tokens']);
  return { input: count(u['input_tokens']) + cached + count(u['cache_creation_input_tokens']), output: count(u['output_tokens']), cachedInput: cached };
}

export function writeAnthropicUsage(u: Usage): Json {
  return { input_tokens: Math.max(0, u.input - u.cachedInput), output_tokens: u.output, cache_read_input_tokens: u.cachedInput, cache_creation_input_tokens: 0 };
}

/** A Messages answer in the neutral form; undefined when it is not one. */
export function readAnthropicAnswer(body: unknown): Answer | undefined {
  if (!isObject(body) || body['type'] !== 'message' || !Array.isArray(body['content'])) return undefined;
  const content: Part[] = [];
  for (const b of body['content']) {
    if (!isObject(b)) continue;
    if (b['type'] === 'text' && typeof b['text'] === 'string') content.push({ type: 'text', text: b['text'] });
    else if (b['type'] === 'tool_use') content.push({ type: 'tool_call', id: String(b['id'] ?? ''), name: String(b['name'] ?? ''), arguments: JSON.stringify(b['input'] ?? {}) });
    else if (b['type'] === 'thinking' && typeof b['thinking'] === 'string') content.push({ type: 'reasoning', text: b['thinking'], ...(typeof b['signature'] === 'string' ? { signature: b['signature'] } : {}) });
  }
  const usage = readAnthropicUsage(body['usage']);
  return {
    id: String(body['id'] ?? ''),
    model: String(body['model'] ?? ''),
    content,
    stopReason: readStopReason(body['stop_reason']),
    ...(typeof body['stop_sequence'] === 'string' ? { stopSequence: body['stop_sequence'] } : {}),
    ...(usage ? { usage } : {}),
  };
}

export function anthropicBlock(p: Part): Json | undefined {
  if (p.type === 'text') return { type: 'text', text: p.text };
  if (p.type === 'tool_call') {
    let input: unknown = {};
    try {
      input = p.arguments.trim() ? JSON.parse(p.arguments) : {};
    } catch {
      // A model's malformed arguments stay visible as text rather than vanish.
      input = { arguments: p.arguments };
    }
    return { type: 'tool_use', id: p.id, name: p.name, input };
  }
  if (p.type === 'reasoning') return { type: 'thinking', thinking: p.text, signature: p.signature ?? '' };
  return undefined;
}

export function writeAnthropicAnswer(a: Answer): Json {
  return {
    id: a.id,
    type: 'message',
    role: 'assistant',
    model: a.model,
    // Thinking first, as the Messages API orders its blocks.
    content: [...a.content.filter((p) => p.type === 'reasoning'), ...a.content.filter((p) => p.type !== 'reasoning')].map(anthropicBlock).filter((b) => b !== undefined),
    stop_reason: a.stopReason,
    stop_sequence: a.stopSequence ?? null,
    usage: writeAnthropicUsage(a.usage ?? { input: 0, output: 0, cachedInput: 0 }),
  };
}

const TYPE_OF_KIND: Readonly<Record<ErrorKind, string>> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  request_too_large: 'request_too_large',
  rate_limit: 'rate_limit_error',
  server: 'api_error',
  overloaded: 'overloaded_error',
  timeout: 'timeout_error',
};

/** An Anthropic error body ({type: "error", error: {type, message}}) in the neutral form. */
export function readAnthropicError(status: number, body: unknown): ApiError {
  const e = isObject(body) && isObject(body['error']) ? body['error'] : {};
  return { status, kind: errorKindOf(status), message: typeof e['message'] === 'string' ? e['message'] : `the service answered ${status}`, ...(typeof e['type'] === 'string' ? { code: e['type'] } : {}) };
}

export function writeAnthropicError(e: ApiError): Json {
  return { type: 'error', error: { type: TYPE_OF_KIND[e.kind], message: e.message } };
}
