// A streamed Messages answer, read into neutral stream events and written from them:
// message_start, then content blocks (content_block_start, its deltas, content_block_stop — text,
// tool_use with input_json_delta, thinking), message_delta with the stop reason and the output
// tokens, message_stop; `ping` events anywhere; an `error` event ends a stream that failed.
import { type StopReason, type StreamEvent, type Usage } from './neutral.js';
import { anthropicBlock, readAnthropicError, readAnthropicUsage, readStopReason, writeAnthropicError, writeAnthropicUsage } from './anthropic-answer.js';
import { isObject, type Json } from './read-json.js';
import { type SseEvent, sseEvent } from './sse.js';

/** The status an error event stands for (a stream has already answered 200). */
const STATUS_OF_ERROR_TYPE: Readonly<Record<string, number>> = { overloaded_error: 529, rate_limit_error: 429, api_error: 500, invalid_request_error: 400, timeout_error: 504 };

export class AnthropicStreamReader {
  /** Block index → the tool call it is (counted from 0). */
  private readonly tools = new Map<number, number>();
  private usage: Usage = { input: 0, output: 0, cachedInput: 0 };

  read(e: SseEvent): StreamEvent[] {
    if (e.data === undefined) return [];
    let ev: unknown;
    try {
      ev = JSON.parse(e.data);
    } catch {
      return [];
    }
    if (!isObject(ev)) return [];
    switch (ev['type']) {
      case 'message_start': {
        const m = isObject(ev['message']) ? ev['message'] : {};
        this.usage = readAnthropicUsage(m['usage']) ?? this.usage;
        return [{ type: 'start', id: String(m['id'] ?? ''), model: String(m['model'] ?? ''), usage: this.usage }];
      }
      case 'content_block_start': {
        const b = isObject(ev['content_block']) ? ev['content_block'] : {};
        const index = Number(ev['index']);
        if (b['type'] === 'tool_use') {
          const n = this.tools.size;
          this.tools.set(index, n);
          return [{ type: 'tool_call', index: n, id: String(b['id'] ?? ''), name: String(b['name'] ?? '') }];
        }
        if (b['type'] === 'text' && typeof b['text'] === 'string' && b['text']) return [{ type: 'text', delta: b['text'] }];
        return [];
      }
      case 'content_block_delta': {
        const d = isObject(ev['delta']) ? ev['delta'] : {};
        if (d['type'] === 'text_delta' && typeof d['text'] === 'string') return [{ type: 'text', delta: d['text'] }];
        if (d['type'] === 'input_json_delta' && typeof d['partial_json'] === 'string' && d['partial_json']) {
          const index = this.tools.get(Number(ev['index']));
          return index === undefined ? [] : [{ type: 'tool_arguments', index, delta: d['partial_json'] }];
        }
        if (d['type'] === 'thinking_delta' && typeof d['thinking'] === 'string') return [{ type: 'reasoning', delta: d['thinking'] }];
        if (d['type'] === 'signature_delta' && typeof d['signature'] === 'string') return [{ type: 'reasoning', delta: '', signature: d['signature'] }];
        return [];
      }
      case 'message_delta': {
        const d = isObject(ev['delta']) ? ev['delta'] : {};
        const u = isObject(ev['usage']) ? ev['usage'] : {};
        // The counters it has are the whole message's so far; those it leaves out stand.
        const cached = typeof u['cache_read_input_tokens'] === 'number' ? u['cache_read_input_tokens'] : this.usage.cachedInput;
        const input = typeof u['input_tokens'] === 'number' ? u['input_tokens'] + cached + (typeof u['cache_creation_input_tokens'] === 'number' ? u['cache_creation_input_tokens'] : 0) : this.usage.input;
        this.usage = { input, output: typeof u['output_tokens'] === 'number' ? u['output_tokens'] : this.usage.output, cachedInput: cached };
        const out: StreamEvent[] = [];
        if (d['stop_reason'] !== null && d['stop_reason'] !== undefined) out.push({ type: 'stop', reason: readStopReason(d['stop_reason']), ...(typeof d['stop_sequence'] === 'string' ? { stopSequence: d['stop_sequence'] } : {}) });
        out.push({ type: 'usage', usage: this.usage });
        return out;
      }
      case 'message_stop':
        return [{ type: 'end' }];
      case 'error': {
        const type = isObject(ev['error']) ? String(ev['error']['type']) : '';
        return [{ type: 'error', error: readAnthropicError(STATUS_OF_ERROR_TYPE[type] ?? 500, ev) }];
      }
      default:
        return [];
    }
  }
}

type OpenBlock = { readonly kind: 'text' | 'thinking' | 'tool'; readonly index: number; readonly tool?: number };

export class AnthropicStreamWriter {
  private next = 0;
  private open: OpenBlock | undefined;
  /** Each tool call's block index (a late delta for an earlier call still names its block). */
  private readonly toolBlocks = new Map<number, number>();
  private stop: { reason: StopReason; stopSequence?: string } | undefined;
  private usage: Usage = { input: 0, output: 0, cachedInput: 0 };
  private started = false;
  private ended = false;

  private event(name: string, body: Json): string {
    return sseEvent(JSON.stringify({ type: name, ...body }), name);
  }

  private close(): string {
    if (!this.open) return '';
    const out = this.event('content_block_stop', { index: this.open.index });
    this.open = undefined;
    return out;
  }

  private begin(kind: OpenBlock['kind'], block: Json, tool?: number): string {
    const closed = this.close();
    const index = this.next++;
    this.open = { kind, index, ...(tool !== undefined ? { tool } : {}) };
    return closed + this.event('content_block_start', { index, content_block: block });
  }

  write(e: StreamEvent): string {
    switch (e.type) {
      case 'start':
        this.started = true;
        if (e.usage) this.usage = e.usage;
        return this.event('message_start', { message: { id: e.id, type: 'message', role: 'assistant', model: e.model, content: [], stop_reason: null, stop_sequence: null, usage: writeAnthropicUsage(this.usage) } });
      case 'text': {
        const opened = this.open?.kind === 'text' ? '' : this.begin('text', { type: 'text', text: '' });
        return opened + this.event('content_block_delta', { index: this.open!.index, delta: { type: 'text_delta', text: e.delta } });
      }
      case 'reasoning': {
        const opened = this.open?.kind === 'thinking' ? '' : this.begin('thinking', { type: 'thinking', thinking: '', signature: '' });
        const index = this.open!.index;
        return opened + (e.delta ? this.event('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: e.delta } }) : '') + (e.signature ? this.event('content_block_delta', { index, delta: { type: 'signature_delta', signature: e.signature } }) : '');
      }
      case 'tool_call': {
        const opened = this.begin('tool', anthropicBlock({ type: 'tool_call', id: e.id, name: e.name, arguments: '{}' })!, e.index);
        this.toolBlocks.set(e.index, this.open!.index);
        return opened;
      }
      case 'tool_arguments': {
        const index = this.toolBlocks.get(e.index);
        return index === undefined ? '' : this.event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: e.delta } });
      }
      case 'stop':
        this.stop = { reason: e.reason, ...(e.stopSequence !== undefined ? { stopSequence: e.stopSequence } : {}) };
        return this.close();
      case 'usage':
        this.usage = e.usage;
        return '';
      case 'error':
        return this.close() + this.event('error', { error: writeAnthropicError(e.error)['error'] as Json });
      case 'end': {
        if (this.ended || !this.started) return '';
        this.ended = true;
        const u = writeAnthropicUsage(this.usage);
        return (
          this.close() +
          this.event('message_delta', { delta: { stop_reason: this.stop?.reason ?? 'end_turn', stop_sequence: this.stop?.stopSequence ?? null }, usage: u }) +
          this.event('message_stop', {})
        );
      }
    }
  }
}

