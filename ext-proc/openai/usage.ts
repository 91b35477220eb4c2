// Token usage out of OpenAI-style answers, as the LLM processor will read them on Envoy's
// external processing stream: a plain JSON body's `usage`, and a server-sent-events stream's,
// whose usage arrives in one `data:` event near the end and may be split across any number of
// body chunks. The stream reader passes bytes on as they come (the caller's stream is never
// held back for the count) unless it must drop the usage-only event the gateway asked for
// itself (`stream_options.include_usage` the caller did not request), in which case it passes
// whole events only. Bounded: an event longer than `maxEventBytes` is passed on unread.
import { turnText } from '../../shared/openai-messages.js';
import { parseEvent } from '../dialects/sse.js';

/** At most this many tool calls of one streamed answer are reassembled for the request log. */
const MAX_COLLECTED_TOOL_CALLS = 64;

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0);

/** `usage` of a parsed answer, when it has one. */
export function usageOf(answer: unknown): Usage | undefined {
  const u = (answer as { usage?: unknown } | null)?.usage;
  if (!u || typeof u !== 'object') return undefined;
  const r = u as Record<string, unknown>;
  const promptTokens = count(r['prompt_tokens']);
  const completionTokens = count(r['completion_tokens']);
  return { promptTokens, completionTokens, totalTokens: count(r['total_tokens']) || promptTokens + completionTokens };
}

/** A whole JSON answer (chat completion, completion, embeddings) parsed; undefined if not JSON. */
export function parseAnswer(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

const USAGE_KEY = Buffer.from('"usage"');

/**
 * `usage` of a whole JSON answer, read from its last `"usage"` object alone (OpenAI puts it at
 * the end; an embeddings answer is mostly numbers not worth parsing); the whole answer parsed
 * when that object cannot be read on its own.
 */
export function usageOfAnswerTail(body: Buffer): Usage | undefined {
  const at = body.lastIndexOf(USAGE_KEY);
  if (at < 0) return usageOf(parseAnswer(body));
  const open = body.indexOf(0x7b, at + USAGE_KEY.length); // '{'
  // The object: to its matching brace, strings (keys) skipped over.
  let depth = 0;
  for (let i = open; open >= 0 && i < body.length; i++) {
    const c = body[i];
    if (c === 0x22) {
      for (i++; i < body.length && body[i] !== 0x22; i++) if (body[i] === 0x5c) i++; // '\\' escapes the next byte
      continue;
    }
    if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) {
      try {
        return usageOf({ usage: JSON.parse(body.subarray(open, i + 1).toString('latin1')) });
      } catch {
        return usageOf(parseAnswer(body));
      }
    }
  }
  return usageOf(parseAnswer(body));
}

/** `usage` of a whole JSON body; undefined if none or not JSON. */
export function usageOfJsonBody(body: Buffer): Usage | undefined {
  return usageOf(parseAnswer(body));
}

const BLANK_LINE = /\r?\n\r?\n/;

export class StreamUsageReader {
  private pending = '';
  private usage: Usage | undefined;
  private oversized = false;
  /** Events seen with data (not counting `[DONE]`). */
  events = 0;
  done = false;

  /** The answer's text so far, when collected (for the request log): at most `collectBytes`. */
  private collected: string[] = [];
  /** Streamed tool calls by their index: the name, and the arguments as their pieces arrive. */
  private readonly toolCalls = new Map<number, { name: string; arguments: string }>();
  private collectedBytes = 0;

  constructor(
    /** Take out the usage-only event (choices empty, usage set), which the gateway asked for. */
    private readonly dropUsageOnly: boolean,
    private readonly maxEventBytes = 1 << 20,
    /** Reassemble the answer's text from its deltas, up to this many bytes (0: not at all). */
    private readonly collectBytes = 0,
  ) {}

  /** The streamed answer's text, reassembled (empty unless collected). */
  text(): string {
    return turnText({ content: this.collected.join(''), tool_calls: [...this.toolCalls.values()].map((f) => ({ function: f })) });
  }

  /** Read one body chunk; returns the bytes to pass on to the caller. */
  push(chunk: Buffer): Buffer {
    if (this.oversized) return chunk;
    this.pending += chunk.toString('utf8');
    const out: string[] = [];
    for (;;) {
      const m = BLANK_LINE.exec(this.pending);
      if (!m) break;
      const event = this.pending.slice(0, m.index);
      const end = m.index + m[0].length;
      // Only a reader that changes the stream keeps what it passes on.
      if (!this.read(event) && this.dropUsageOnly) out.push(this.pending.slice(0, end));
      this.pending = this.pending.slice(end);
    }
    if (this.pending.length > this.maxEventBytes) {
      // Not an event this reader can hold: pass everything on from here, unread.
      this.oversized = true;
      out.push(this.pending);
      this.pending = '';
    }
    // Passing through, the caller gets exactly the bytes that came, when they came.
    return this.dropUsageOnly ? Buffer.from(out.join('')) : chunk;
  }

  /** The end of the stream: what is left (an event without its blank line) goes out as it is. */
  end(): Buffer {
    const rest = this.pending;
    this.pending = '';
    if (rest && !this.oversized) this.read(rest);
    return this.dropUsageOnly ? Buffer.from(rest) : Buffer.alloc(0);
  }

  /** Whether this reader changes the stream (it takes out the usage-only event). */
  get dropping(): boolean {
    return this.dropUsageOnly;
  }

  /** The usage the stream reported (the last one, as OpenAI sends it once, at the end). */
  result(): Usage | undefined {
    return this.usage;
  }

  private collect(event: unknown): void {
    const choices = (event as { choices?: unknown }).choices;
    if (!Array.isArray(choices)) return;
    for (const c of choices as Array<{ delta?: { content?: unknown; tool_calls?: unknown }; text?: unknown }>) {
      const t = typeof c?.delta?.content === 'string' ? c.delta.content : typeof c?.text === 'string' ? c.text : '';
      if (t) {
        this.collected.push(t);
        this.collectedBytes += t.length;
      }
      if (Array.isArray(c?.delta?.tool_calls)) this.collectToolCalls(c.delta.tool_calls);
    }
  }

  private collectToolCalls(deltas: readonly unknown[]): void {
    for (const d of deltas as Array<{ index?: unknown; function?: { name?: unknown; arguments?: unknown } }>) {
      if (typeof d?.index !== 'number') continue;
      const call = this.toolCalls.get(d.index) ?? (this.toolCalls.size < MAX_COLLECTED_TOOL_CALLS ? { name: '', arguments: '' } : undefined);
      if (!call) continue;
      this.toolCalls.set(d.index, call);
      if (typeof d.function?.name === 'string') call.name += d.function.name;
      if (typeof d.function?.arguments === 'string') {
        call.arguments += d.function.arguments;
        this.collectedBytes += d.function.arguments.length;
      }
    }
  }

  /** Reads an event; true when it is a usage-only event (to be dropped in that mode). */
  private read(event: string): boolean {
    const data = parseEvent(event).data;
    if (data === undefined) return false;
    if (data.trim() === '[DONE]') {
      this.done = true;
      return false;
    }
    this.events += 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return false;
    }
    if (this.collectBytes && this.collectedBytes < this.collectBytes) this.collect(parsed);
    const usage = usageOf(parsed);
    if (!usage) return false;
    this.usage = usage;
    const choices = (parsed as { choices?: unknown }).choices;
    return Array.isArray(choices) && choices.length === 0;
  }
}
