// A streamed Responses API answer, written from neutral stream events as OpenAI streams it:
// response.created and response.in_progress; per output item, output_item.added, its content
// (content_part.added, output_text.delta …, output_text.done, content_part.done — or
// function_call_arguments.delta …, function_call_arguments.done) and output_item.done; at the
// end response.completed (or response.incomplete) with the whole response and its usage. Every
// event has its sequence_number. Reasoning goes out as a reasoning item when it is whole.
import type { StopReason, StreamEvent, Usage } from './neutral.js';
import { writeOpenAiError } from './openai-answer.js';
import type { Json } from './read-json.js';
import { functionCallItem, itemId, messageItem, reasoningItem, responseId, responseObject, statusOf } from './responses-answer.js';
import { sseEvent } from './sse.js';

type Open = { kind: 'message'; id: string; index: number; text: string } | { kind: 'call'; id: string; index: number; callId: string; name: string; args: string; tool: number } | { kind: 'reasoning'; id: string; index: number; text: string };

export class ResponsesStreamWriter {
  private seq = 0;
  private id = '';
  private answerId = '';
  private model = '';
  private readonly output: Json[] = [];
  private open: Open | undefined;
  /** Function calls still taking arguments, by their neutral index. */
  private readonly calls = new Map<number, Extract<Open, { kind: 'call' }>>();
  private stop: StopReason = 'end_turn';
  private usage: Usage | undefined;
  private started = false;
  private ended = false;

  constructor(private readonly created: number) {}

  private event(type: string, body: Json): string {
    return sseEvent(JSON.stringify({ type, sequence_number: this.seq++, ...body }), type);
  }

  private response(status: 'in_progress' | 'completed' | 'incomplete'): Json {
    return responseObject(this.id, this.model, this.created, status, status === 'in_progress' ? [] : this.output, status === 'in_progress' ? undefined : this.usage);
  }

  private close(): string {
    const o = this.open;
    if (!o) return '';
    this.open = undefined;
    if (o.kind === 'message') {
      const part = { type: 'output_text', text: o.text, annotations: [] };
      const item = messageItem(o.id, o.text, 'completed');
      this.output[o.index] = item;
      return (
        this.event('response.output_text.done', { item_id: o.id, output_index: o.index, content_index: 0, text: o.text }) +
        this.event('response.content_part.done', { item_id: o.id, output_index: o.index, content_index: 0, part }) +
        this.event('response.output_item.done', { output_index: o.index, item })
      );
    }
    if (o.kind === 'reasoning') {
      const item = reasoningItem(o.id, o.text);
      this.output[o.index] = item;
      return this.event('response.output_item.added', { output_index: o.index, item: reasoningItem(o.id, '') }) + this.event('response.output_item.done', { output_index: o.index, item });
    }
    const item = functionCallItem(o.id, o.callId, o.name, o.args, 'completed');
    this.output[o.index] = item;
    this.calls.delete(o.tool);
    return this.event('response.function_call_arguments.done', { item_id: o.id, output_index: o.index, arguments: o.args }) + this.event('response.output_item.done', { output_index: o.index, item });
  }

  write(e: StreamEvent): string {
    switch (e.type) {
      case 'start':
        this.started = true;
        this.answerId = e.id;
        this.id = responseId(e.id);
        this.model = e.model;
        return this.event('response.created', { response: this.response('in_progress') }) + this.event('response.in_progress', { response: this.response('in_progress') });
      case 'text': {
        let out = '';
        if (this.open?.kind !== 'message') {
          out += this.close();
          const index = this.output.length;
          const id = itemId('msg', this.answerId, index);
          this.open = { kind: 'message', id, index, text: '' };
          this.output.push(messageItem(id, '', 'in_progress'));
          out +=
            this.event('response.output_item.added', { output_index: index, item: messageItem(id, '', 'in_progress') }) +
            this.event('response.content_part.added', { item_id: id, output_index: index, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
        }
        const o = this.open as Extract<Open, { kind: 'message' }>;
        o.text += e.delta;
        return out + this.event('response.output_text.delta', { item_id: o.id, output_index: o.index, content_index: 0, delta: e.delta });
      }
      case 'reasoning': {
        if (this.open?.kind === 'reasoning') {
          this.open.text += e.delta;
          return '';
        }
        const out = this.close();
        const index = this.output.length;
        this.open = { kind: 'reasoning', id: itemId('rs', this.answerId, index), index, text: e.delta };
        this.output.push(reasoningItem(this.open.id, ''));
        return out;
      }
      case 'tool_call': {
        const out = this.close();
        const index = this.output.length;
        const o: Extract<Open, { kind: 'call' }> = { kind: 'call', id: itemId('fc', this.answerId, index), index, callId: e.id, name: e.name, args: '', tool: e.index };
        this.open = o;
        this.calls.set(e.index, o);
        this.output.push(functionCallItem(o.id, o.callId, o.name, '', 'in_progress'));
        return out + this.event('response.output_item.added', { output_index: index, item: functionCallItem(o.id, o.callId, o.name, '', 'in_progress') });
      }
      case 'tool_arguments': {
        const o = this.calls.get(e.index);
        if (!o) return '';
        o.args += e.delta;
        return this.event('response.function_call_arguments.delta', { item_id: o.id, output_index: o.index, delta: e.delta });
      }
      case 'stop':
        this.stop = e.reason;
        return this.close();
      case 'usage':
        this.usage = e.usage;
        return '';
      case 'error': {
        const error = writeOpenAiError(e.error)['error'] as Json;
        return this.close() + this.event('error', { code: error['code'] ?? error['type'], message: error['message'], param: error['param'] });
      }
      case 'end': {
        if (this.ended || !this.started) return '';
        this.ended = true;
        const status = statusOf(this.stop);
        return this.close() + this.event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: this.response(status) });
      }
    }
  }
}
