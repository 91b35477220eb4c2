// OpenAI's Chat Completions answer and error, read into the neutral form and written from it.
// finish_reason: stop (an end, or a stop sequence), length, tool_calls, content_filter. Usage's
// prompt_tokens include the cached ones (prompt_tokens_details.cached_tokens), as the neutral form counts.
import { type Answer, type ApiError, errorKindOf, type ErrorKind, type Part, type StopReason, type Usage } from './neutral.js';
import { isObject, type Json } from './read-json.js';

const STOP_OF_FINISH: Readonly<Record<string, StopReason>> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', function_call: 'tool_use', content_filter: 'refusal' };
const FINISH_OF_STOP: Readonly<Record<StopReason, string>> = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length', tool_use: 'tool_calls', refusal: 'content_filter' };

export const stopOfFinish = (finish: unknown): StopReason => STOP_OF_FINISH[String(finish)] ?? 'end_turn';
export const finishOfStop = (stop: StopReason): string => FINISH_OF_STOP[stop];

const count = (v: unknown): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0);

export function readOpenAiUsage(u: unknown): Usage | undefined {
  if (!isObject(u)) return undefined;
  const details = u['prompt_tokens_details'];
  return { input: count(u['prompt_tokens']), output: count(u['completion_tokens']), cachedInput: isObject(details) ? count(details['cached_tokens']) : 0 };
}

export function writeOpenAiUsage(u: Usage): Json {
  return { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output, ...(u.cachedInput ? { prompt_tokens_details: { cached_tokens: u.cachedInput } } : {}) };
}

/** A chat.completion in the neutral form (its first choice); undefined when it is not one. */
export function readOpenAiAnswer(body: unknown): Answer | undefined {
  if (!isObject(body) || !Array.isArray(body['choices'])) return undefined;
  const choice = body['choices'][0];
  const message = isObject(choice) && isObject(choice['message']) ? choice['message'] : {};
  const content: Part[] = [];
  const reasoning = message['reasoning_content'] ?? message['reasoning'];
  if (typeof reasoning === 'string' && reasoning) content.push({ type: 'reasoning', text: reasoning });
  if (typeof message['content'] === 'string' && message['content']) content.push({ type: 'text', text: message['content'] });
  if (typeof message['refusal'] === 'string' && message['refusal']) content.push({ type: 'text', text: message['refusal'] });
  for (const c of Array.isArray(message['tool_calls']) ? message['tool_calls'] : []) {
    if (!isObject(c) || !isObject(c['function'])) continue;
    content.push({ type: 'tool_call', id: String(c['id'] ?? ''), name: String(c['function']['name'] ?? ''), arguments: typeof c['function']['arguments'] === 'string' ? c['function']['arguments'] : '{}' });
  }
  const usage = readOpenAiUsage(body['usage']);
  return {
    id: String(body['id'] ?? ''),
    model: String(body['model'] ?? ''),
    content,
    stopReason: typeof message['refusal'] === 'string' && message['refusal'] ? 'refusal' : stopOfFinish(isObject(choice) ? choice['finish_reason'] : undefined),
    ...(usage ? { usage } : {}),
  };
}

export function writeOpenAiAnswer(a: Answer, created: number): Json {
  const text = a.content.filter((p) => p.type === 'text').map((p) => (p.type === 'text' ? p.text : '')).join('');
  const reasoning = a.content.filter((p) => p.type === 'reasoning').map((p) => (p.type === 'reasoning' ? p.text : '')).join('');
  const calls = a.content.flatMap((p) => (p.type === 'tool_call' ? [{ id: p.id, type: 'function', function: { name: p.name, arguments: p.arguments } }] : []));
  return {
    id: a.id,
    object: 'chat.completion',
    created,
    model: a.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text || (calls.length ? null : ''), ...(reasoning ? { reasoning_content: reasoning } : {}), ...(calls.length ? { tool_calls: calls } : {}) },
        logprobs: null,
        finish_reason: finishOfStop(a.stopReason),
      },
    ],
    ...(a.usage ? { usage: writeOpenAiUsage(a.usage) } : {}),
  };
}

const TYPE_OF_KIND: Readonly<Record<ErrorKind, string>> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'invalid_request_error',
  request_too_large: 'invalid_request_error',
  rate_limit: 'rate_limit_error',
  server: 'server_error',
  overloaded: 'server_error',
  timeout: 'timeout_error',
};

/** An OpenAI-style error body ({error: {message, type, param, code}}) in the neutral form. */
export function readOpenAiError(status: number, body: unknown): ApiError {
  const e = isObject(body) && isObject(body['error']) ? body['error'] : {};
  const message = typeof e['message'] === 'string' ? e['message'] : typeof (body as Json | undefined)?.['message'] === 'string' ? String((body as Json)['message']) : `the service answered ${status}`;
  return { status, kind: errorKindOf(status), message, ...(typeof e['param'] === 'string' ? { param: e['param'] } : {}), ...(typeof e['code'] === 'string' ? { code: e['code'] } : {}) };
}

export function writeOpenAiError(e: ApiError): Json {
  return { error: { message: e.message, type: TYPE_OF_KIND[e.kind], param: e.param ?? null, code: e.code ?? null } };
}
