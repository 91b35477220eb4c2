// A streamed Chat Completions answer (server-sent chat.completion.chunk events, then
// `data: [DONE]`), read into neutral stream events and written from them. OpenAI sends usage in
// a last chunk without choices, and only when stream_options.include_usage asked for it.
import { type StreamEvent, type Usage } from './neutral.js';
import { finishOfStop, readOpenAiError, readOpenAiUsage, stopOfFinish, writeOpenAiError, writeOpenAiUsage } from './openai-answer.js';
import { isObject, type Json } from './read-json.js';
import { type SseEvent, sseEvent } from './sse.js';

export class OpenAiStreamReader {
  private started = false;

  read(e: SseEvent): StreamEvent[] {
    if (e.data === undefined) return [];
    if (e.data.trim() === '[DONE]') return [{ type: 'end' }];
    let chunk: unknown;
    try {
      chunk = JSON.parse(e.data);
    } catch {
      return [];
    }
    if (!isObject(chunk)) return [];
    if (isObject(chunk['error'])) return [{ type: 'error', error: readOpenAiError(500, chunk) }];
    const out: StreamEvent[] = [];
    if (!this.started) {
      this.started = true;
      out.push({ type: 'start', id: String(chunk['id'] ?? ''), model: String(chunk['model'] ?? '') });
    }
    const choice = Array.isArray(chunk['choices']) ? chunk['choices'][0] : undefined;
    const delta = isObject(choice) && isObject(choice['delta']) ? choice['delta'] : {};
    const reasoning = delta['reasoning_content'] ?? delta['reasoning'];
    if (typeof reasoning === 'string' && reasoning) out.push({ type: 'reasoning', delta: reasoning });
    if (typeof delta['content'] === 'string' && delta['content']) out.push({ type: 'text', delta: delta['content'] });
    for (const c of Array.isArray(delta['tool_calls']) ? delta['tool_calls'] : []) {
      if (!isObject(c) || typeof c['index'] !== 'number') continue;
      const f = isObject(c['function']) ? c['function'] : {};
      if (typeof c['id'] === 'string') out.push({ type: 'tool_call', index: c['index'], id: c['id'], name: String(f['name'] ?? '') });
      if (typeof f['arguments'] === 'string' && f['arguments']) out.push({ type: 'tool_arguments', index: c['index'], delta: f['arguments'] });
    }
    if (isObject(choice) && choice['finish_reason'] !== null && choice['finish_reason'] !== undefined) out.push({ type: 'stop', reason: stopOfFinish(choice['finish_reason']) });
    const usage = readOpenAiUsage(chunk['usage']);
    if (usage) out.push({ type: 'usage', usage });
    return out;
  }
}

export class OpenAiStreamWriter {
  private id = '';
  private model = '';
  private usage: Usage | undefined;

  constructor(
    /** The caller asked for usage in the stream (stream_options.include_usage). */
    private readonly withUsage: boolean,
    private readonly created: number,
  ) {}

  private chunk(delta: Json, finish: string | null = null): string {
    return sseEvent(JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] }));
  }

  write(e: StreamEvent): string {
    switch (e.type) {
      case 'start':
        this.id = e.id;
        this.model = e.model;
        return this.chunk({ role: 'assistant', content: '' });
      case 'text':
        return this.chunk({ content: e.delta });
      case 'reasoning':
        return e.delta ? this.chunk({ reasoning_content: e.delta }) : '';
      case 'tool_call':
        return this.chunk({ tool_calls: [{ index: e.index, id: e.id, type: 'function', function: { name: e.name, arguments: '' } }] });
      case 'tool_arguments':
        return this.chunk({ tool_calls: [{ index: e.index, function: { arguments: e.delta } }] });
      case 'stop':
        return this.chunk({}, finishOfStop(e.reason));
      case 'usage':
        // Sent once, last: a service may report usage more than once (Anthropic: at start and end).
        this.usage = e.usage;
        return '';
      case 'error':
        return sseEvent(JSON.stringify(writeOpenAiError(e.error)));
      case 'end': {
        const usage = this.withUsage && this.usage ? sseEvent(JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: writeOpenAiUsage(this.usage) })) : '';
        return `${usage}data: [DONE]\n\n`;
      }
    }
  }
}
