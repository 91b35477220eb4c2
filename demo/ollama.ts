// A deterministic model service in Ollama's chat API (POST /api/chat), following its public API
// reference (github.com/ollama/ollama docs/api.md): messages with string content, base64
// `images`, tool calls with object arguments and tool results by `tool_name`; sampling in
// `options` (num_predict caps the answer); a stream unless `stream: false`, as newline-delimited
// JSON ending in a line with done: true, done_reason and the counts (prompt_eval_count,
// eval_count); errors as {"error": "…"}. Ollama has no tool_choice: this model calls the first
// tool it is offered when a user spoke last. Written apart from the gateway's translators.
import { countTokens, isObject } from './openai.js';

type Json = Record<string, unknown>;

/** Why a body is not an Ollama chat request (400), or undefined. */
export function ollamaChatProblem(body: unknown): string | undefined {
  if (!isObject(body)) return 'the body must be a JSON object';
  if (typeof body['model'] !== 'string' || !body['model']) return 'model is required';
  const messages = body['messages'];
  if (!Array.isArray(messages)) return 'messages must be an array';
  for (const [i, m] of messages.entries()) {
    if (!isObject(m) || !['system', 'user', 'assistant', 'tool'].includes(String(m['role']))) return `messages[${i}]: role must be system, user, assistant or tool`;
    if (m['content'] !== undefined && typeof m['content'] !== 'string') return `messages[${i}]: content must be a string`;
    if (m['images'] !== undefined && !(Array.isArray(m['images']) && m['images'].every((x) => typeof x === 'string' && /^[A-Za-z0-9+/=]+$/.test(x)))) return `messages[${i}]: images must be base64 strings`;
    if (m['tool_calls'] !== undefined && !(Array.isArray(m['tool_calls']) && m['tool_calls'].every((c) => isObject(c) && isObject(c['function']) && typeof c['function']['name'] === 'string' && isObject(c['function']['arguments'])))) {
      return `messages[${i}]: tool_calls must be [{"function": {"name": string, "arguments": object}}]`;
    }
  }
  if (body['options'] !== undefined && !isObject(body['options'])) return 'options must be an object';
  return undefined;
}

/** The answer's message and counts: a call of the first tool when a user spoke last and tools are offered, else an echo. */
export function ollamaAnswer(body: Json): { message: Json; promptTokens: number; outputTokens: number; doneReason: 'stop' | 'length' } {
  const messages = body['messages'] as Json[];
  const last = messages[messages.length - 1];
  const lastUser = [...messages].reverse().find((m) => m['role'] === 'user');
  const asked = String(lastUser?.['content'] ?? '');
  const images = messages.reduce((n, m) => n + (Array.isArray(m['images']) ? m['images'].length : 0), 0);
  const tools = Array.isArray(body['tools']) ? (body['tools'] as Json[]) : [];
  const promptTokens = messages.reduce((n, m) => n + countTokens(String(m['content'] ?? '')), 0);
  const numPredict = isObject(body['options']) && Number.isInteger(body['options']['num_predict']) ? (body['options']['num_predict'] as number) : Infinity;
  if (last?.['role'] === 'user' && tools.length) {
    const name = String((tools[0]!['function'] as Json)['name']);
    return { message: { role: 'assistant', content: '', tool_calls: [{ function: { name, arguments: { input: asked } } }] }, promptTokens, outputTokens: countTokens(`${name} ${asked}`), doneReason: 'stop' };
  }
  const text = last?.['role'] === 'tool' ? `Tool said: ${String(last['content'] ?? '')}` : `You said: ${asked}${images ? ` (with ${images} image${images > 1 ? 's' : ''})` : ''}`;
  const all = text.split(' ');
  const kept = all.slice(0, Math.min(all.length, numPredict));
  return { message: { role: 'assistant', content: kept.join(' ') }, promptTokens, outputTokens: kept.length, doneReason: kept.length < all.length ? 'length' : 'stop' };
}

/** The answer as Ollama streams it: its lines, the last with done: true and the counts. */
export function ollamaStreamLines(model: string, a: ReturnType<typeof ollamaAnswer>, createdAt: string): string[] {
  const line = (x: Json): string => `${JSON.stringify({ model, created_at: createdAt, ...x })}\n`;
  const content = String(a.message['content'] ?? '');
  const pieces = a.message['tool_calls'] ? [line({ message: a.message, done: false })] : content.split(' ').map((w, i) => line({ message: { role: 'assistant', content: (i ? ' ' : '') + w }, done: false }));
  return [...pieces, line({ message: { role: 'assistant', content: '' }, done: true, done_reason: a.doneReason, total_duration: 1000, prompt_eval_count: a.promptTokens, eval_count: a.outputTokens })];
}
