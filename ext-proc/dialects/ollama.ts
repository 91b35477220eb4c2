// Ollama's chat API (POST /api/chat) as a model service speaks it: the request written from the
// neutral form, its answer and errors read. Ollama takes images as base64 on a message, tool
// results by the tool's name (its tool calls carry no id), sampling in `options`, and streams
// unless told `stream: false`. Its answer's tool calls are given ids here, stable for the answer,
// so a caller can name them in its tool results. What it cannot be told — a forced tool, an
// image by URL, one tool call at most — is refused with its name.
import { createHash } from 'node:crypto';
import { type Answer, type ApiError, type ChatRequest, errorKindOf, type Part, type Usage, UntranslatableError } from './neutral.js';
import { argumentsObject, isObject, type Json } from './read-json.js';

function textOnly(parts: readonly Part[], what: string): string {
  return parts
    .map((p) => {
      if (p.type === 'text') return p.text;
      throw new UntranslatableError(`${p.type === 'image' ? 'an image' : `a ${p.type}`} in ${what}`, 'ollama');
    })
    .join('\n');
}

export function writeOllamaRequest(r: ChatRequest, model: string): Json {
  if (r.toolChoice?.type === 'required' || r.toolChoice?.type === 'tool') throw new UntranslatableError('tool_choice', 'ollama', 'Ollama decides itself whether to call a tool');
  if (r.parallelToolCalls === false && r.tools.length) throw new UntranslatableError('parallel_tool_calls: false', 'ollama');
  r.tools.forEach((t, i) => {
    if (t.strict) throw new UntranslatableError(`strict (tool ${t.name}, tools[${i}])`, 'ollama');
  });
  const names = new Map<string, string>();
  const messages: Json[] = r.system.length ? [{ role: 'system', content: r.system.join('\n\n') }] : [];
  for (const [i, m] of r.messages.entries()) {
    if (m.role === 'assistant') {
      const calls = m.content.flatMap((p) => (p.type === 'tool_call' ? [p] : []));
      for (const c of calls) names.set(c.id, c.name);
      messages.push({
        role: 'assistant',
        content: m.content.map((p) => (p.type === 'text' ? p.text : '')).join(''),
        ...(calls.length ? { tool_calls: calls.map((c) => ({ function: { name: c.name, arguments: argumentsObject(c.arguments, `messages[${i}]`) } })) } : {}),
      });
      continue;
    }
    const text: string[] = [];
    const images: string[] = [];
    for (const p of m.content) {
      if (p.type === 'tool_result') {
        const content = textOnly(p.content, 'a tool result');
        messages.push({ role: 'tool', content: p.isError ? `Error: ${content}` : content, ...(names.has(p.callId) ? { tool_name: names.get(p.callId) } : {}) });
      } else if (p.type === 'text') text.push(p.text);
      else if (p.type === 'image') {
        if (p.source.kind === 'url') throw new UntranslatableError('an image by URL', 'ollama', 'Ollama takes images as base64');
        images.push(p.source.data);
      }
    }
    if (text.length || images.length) messages.push({ role: 'user', content: text.join('\n'), ...(images.length ? { images } : {}) });
  }
  const options: Json = {
    ...(r.temperature !== undefined ? { temperature: r.temperature } : {}),
    ...(r.topP !== undefined ? { top_p: r.topP } : {}),
    ...(r.topK !== undefined ? { top_k: r.topK } : {}),
    ...(r.maxTokens !== undefined ? { num_predict: r.maxTokens } : {}),
    ...(r.stop.length ? { stop: [...r.stop] } : {}),
  };
  const tools = r.toolChoice?.type === 'none' ? [] : r.tools;
  return {
    model,
    messages,
    ...(tools.length ? { tools: tools.map((t) => ({ type: 'function', function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), parameters: t.parameters } })) } : {}),
    ...(Object.keys(options).length ? { options } : {}),
    stream: r.stream,
  };
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0);

export const ollamaUsage = (line: Json): Usage => ({ input: count(line['prompt_eval_count']), output: count(line['eval_count']), cachedInput: 0 });

/** An id for the answer's `i`th tool call (Ollama gives none): the same for the same answer. */
export function ollamaCallId(createdAt: string, i: number, name: string): string {
  return `call_${createHash('sha256').update(`${createdAt}\u0000${i}\u0000${name}`).digest('hex').slice(0, 24)}`;
}

export const ollamaAnswerId = (createdAt: string): string => `ollama-${createHash('sha256').update(createdAt).digest('hex').slice(0, 24)}`;

export function readOllamaAnswer(body: unknown): Answer | undefined {
  if (!isObject(body) || !isObject(body['message'])) return undefined;
  const m = body['message'];
  const createdAt = String(body['created_at'] ?? '');
  const content: Part[] = [];
  if (typeof m['thinking'] === 'string' && m['thinking']) content.push({ type: 'reasoning', text: m['thinking'] });
  if (typeof m['content'] === 'string' && m['content']) content.push({ type: 'text', text: m['content'] });
  const calls = Array.isArray(m['tool_calls']) ? m['tool_calls'] : [];
  calls.forEach((c: unknown, i: number) => {
    const f = isObject(c) && isObject(c['function']) ? c['function'] : {};
    const name = String(f['name'] ?? '');
    content.push({ type: 'tool_call', id: ollamaCallId(createdAt, i, name), name, arguments: JSON.stringify(f['arguments'] ?? {}) });
  });
  return {
    id: ollamaAnswerId(createdAt),
    model: String(body['model'] ?? ''),
    content,
    stopReason: calls.length ? 'tool_use' : body['done_reason'] === 'length' ? 'max_tokens' : 'end_turn',
    usage: ollamaUsage(body),
  };
}

/** Ollama's errors: {"error": "…"}. */
export function readOllamaError(status: number, body: unknown): ApiError {
  const message = isObject(body) && typeof body['error'] === 'string' ? body['error'] : `the service answered ${status}`;
  return { status, kind: errorKindOf(status), message };
}
