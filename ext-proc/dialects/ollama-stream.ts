// An Ollama chat stream (one JSON object a line: the message's pieces, then a last line with
// done: true, the stop reason and the token counts) read into neutral stream events. A tool
// call comes whole in one line: it begins and gets all its arguments at once.
import type { StreamEvent } from './neutral.js';
import { ollamaAnswerId, ollamaCallId, ollamaUsage } from './ollama.js';
import { isObject } from './read-json.js';
import type { SseEvent } from './sse.js';

export class OllamaStreamReader {
  private started = false;
  private calls = 0;

  read(e: SseEvent): StreamEvent[] {
    let line: unknown;
    try {
      line = JSON.parse(e.data ?? '');
    } catch {
      return [];
    }
    if (!isObject(line)) return [];
    if (typeof line['error'] === 'string') return [{ type: 'error', error: { status: 500, kind: 'server', message: line['error'] } }];
    const out: StreamEvent[] = [];
    const createdAt = String(line['created_at'] ?? '');
    if (!this.started) {
      this.started = true;
      out.push({ type: 'start', id: ollamaAnswerId(createdAt), model: String(line['model'] ?? '') });
    }
    const m = isObject(line['message']) ? line['message'] : {};
    if (typeof m['thinking'] === 'string' && m['thinking']) out.push({ type: 'reasoning', delta: m['thinking'] });
    if (typeof m['content'] === 'string' && m['content']) out.push({ type: 'text', delta: m['content'] });
    for (const c of Array.isArray(m['tool_calls']) ? m['tool_calls'] : []) {
      const f = isObject(c) && isObject(c['function']) ? c['function'] : {};
      const index = this.calls++;
      const name = String(f['name'] ?? '');
      out.push({ type: 'tool_call', index, id: ollamaCallId(createdAt, index, name), name }, { type: 'tool_arguments', index, delta: JSON.stringify(f['arguments'] ?? {}) });
    }
    if (line['done'] === true) {
      out.push({ type: 'stop', reason: this.calls ? 'tool_use' : line['done_reason'] === 'length' ? 'max_tokens' : 'end_turn' }, { type: 'usage', usage: ollamaUsage(line) }, { type: 'end' });
    }
    return out;
  }
}
