// A service's answer on its way to the caller, chunk by chunk as Envoy brings it: read in the
// service's dialect (usage, text for the request log) and, when the caller speaks another, written
// in the caller's. A stream is translated event by event as the events complete — never held
// whole; a JSON answer (or an error, which is JSON even for a stream) is held to its end (at most
// `maxBytes`), then translated whole. When both sides speak one dialect the bytes pass unchanged
// and are only read.
import type { Answer, StreamEvent, Usage } from './neutral.js';
import type { ClientSpec, ServiceSpec, StreamReader, StreamWriter } from './specs.js';
import { NdjsonSplitter } from './ndjson.js';
import { EventTooLongError, SseSplitter, type SseEvent } from './sse.js';

export interface AnswerTranslatorOptions {
  readonly from: ServiceSpec;
  readonly to: ClientSpec;
  /** The call asked for a stream. */
  readonly stream: boolean;
  /** The caller asked for usage in its stream (OpenAI's include_usage). */
  readonly streamUsage: boolean;
  /** The answer's status (a stream that failed is a JSON error). */
  readonly status: number;
  /** A JSON answer is held up to this many bytes; past it, the caller gets an error in its dialect. */
  readonly maxBytes: number;
  /** How much of the answer's text is kept for the request log (0: none). */
  readonly collectBytes: number;
  readonly created: number;
  /** The call counts tokens (Anthropic's count_tokens): the answer is {input_tokens}. */
  readonly countTokens?: boolean;
}

export class AnswerTranslator {
  private readonly passthrough: boolean;
  private readonly streaming: boolean;
  private readonly splitter: SseSplitter | NdjsonSplitter | undefined;
  private readonly reader: StreamReader | undefined;
  private readonly writer: StreamWriter | undefined;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private oversized = false;
  private sawEnd = false;
  /** A streamed event past the bound: the rest of the stream is not read (passed on, or ended with an error). */
  private unreadable = false;
  private usage: Usage | undefined;
  private collected = '';
  /** The whole answer, when it was JSON and read. */
  answer: Answer | undefined;
  /** A JSON answer's bytes as the caller got them, whole (what the response cache keeps). */
  whole: Buffer | undefined;

  constructor(private readonly o: AnswerTranslatorOptions) {
    this.passthrough = (o.from.dialect as string) === o.to.dialect;
    this.streaming = o.stream && o.status >= 200 && o.status < 300;
    if (this.streaming) {
      this.splitter = o.from.framing === 'ndjson' ? new NdjsonSplitter() : new SseSplitter();
      this.reader = o.from.streamReader();
      this.writer = this.passthrough ? undefined : o.to.streamWriter(o.streamUsage, o.created);
    }
  }

  /** Whether the caller's bytes differ from the service's (Envoy must drop the content-length). */
  get rewrites(): boolean {
    return !this.passthrough;
  }

  /** One chunk of the service's answer; the bytes for the caller now. */
  push(chunk: Buffer): Buffer {
    if (this.streaming) {
      if (this.unreadable) return this.passthrough ? chunk : Buffer.alloc(0);
      try {
        return this.events(this.splitter!.push(chunk), chunk);
      } catch (err) {
        if (!(err instanceof EventTooLongError)) throw err;
        this.unreadable = true;
        if (this.passthrough) return chunk;
        return Buffer.from(this.writer!.write({ type: 'error', error: { status: 502, kind: 'server', message: `the service's stream could not be translated: ${err.message}` } }) + this.writer!.write({ type: 'end' }));
      }
    }
    if (this.oversized) return this.passthrough ? chunk : Buffer.alloc(0);
    if (this.heldBytes + chunk.length > this.o.maxBytes) {
      this.oversized = true;
      this.held = [];
      return this.passthrough ? chunk : Buffer.alloc(0);
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    return this.passthrough ? chunk : Buffer.alloc(0);
  }

  /** The answer ended: what is left for the caller. */
  end(): Buffer {
    if (this.streaming) return this.unreadable ? Buffer.alloc(0) : this.events(this.splitter!.end(), Buffer.alloc(0), true);
    if (this.oversized) {
      if (this.passthrough) return Buffer.alloc(0);
      return Buffer.from(JSON.stringify(this.o.to.writeError({ status: 502, kind: 'server', message: `the service's answer is larger than the gateway translates (${this.o.maxBytes} bytes)` })));
    }
    const whole = Buffer.concat(this.held);
    this.held = [];
    let parsed: unknown;
    try {
      parsed = whole.length ? JSON.parse(whole.toString('utf8')) : undefined;
    } catch {
      parsed = undefined;
    }
    const ok = this.o.status >= 200 && this.o.status < 300;
    if (ok && this.o.countTokens) return this.counted(whole, parsed);
    if (ok) {
      this.answer = this.o.from.readAnswer(parsed);
      this.usage = this.answer?.usage;
    }
    if (this.passthrough) {
      this.whole = whole;
      return Buffer.alloc(0);
    }
    if (ok && this.answer) this.whole = Buffer.from(JSON.stringify(this.o.to.writeAnswer(this.answer, this.o.created)));
    else if (ok) this.whole = whole;
    else this.whole = Buffer.from(JSON.stringify(this.o.to.writeError(this.o.from.readError(this.o.status, parsed))));
    return this.whole;
  }

  /**
   * A count of tokens: an Anthropic-dialect service's own answer, which costs nothing; or the
   * prompt tokens of the one-token call a service without a count API was asked (charged as used).
   */
  private counted(whole: Buffer, parsed: unknown): Buffer {
    if (this.passthrough) {
      this.usage = { input: 0, output: 0, cachedInput: 0 };
      this.whole = whole;
      return Buffer.alloc(0);
    }
    this.usage = this.o.from.readAnswer(parsed)?.usage;
    this.whole = this.usage ? Buffer.from(JSON.stringify({ input_tokens: this.usage.input })) : Buffer.from(JSON.stringify(this.o.to.writeError({ status: 502, kind: 'server', message: 'the service did not say how many tokens the prompt has' })));
    return this.whole;
  }

  private events(events: readonly SseEvent[], chunk: Buffer, ended = false): Buffer {
    const out: string[] = [];
    for (const e of events) {
      for (const n of this.reader!.read(e)) {
        this.note(n);
        if (n.type === 'end') this.sawEnd = true;
        if (this.writer) out.push(this.writer.write(n));
      }
    }
    // A stream cut short still ends in the caller's dialect.
    if (ended && !this.sawEnd && this.writer) out.push(this.writer.write({ type: 'end' }));
    return this.passthrough ? chunk : Buffer.from(out.join(''));
  }

  private note(e: StreamEvent): void {
    if ((e.type === 'usage' || e.type === 'start') && e.usage) this.usage = e.usage;
    if (this.o.collectBytes && this.collected.length < this.o.collectBytes) {
      if (e.type === 'text') this.collected += e.delta;
      else if (e.type === 'tool_call') this.collected += `[tool_call ${e.name}(`;
      else if (e.type === 'tool_arguments') this.collected += e.delta;
    }
  }

  /** What the service reported of tokens (the last report of a stream). */
  result(): Usage | undefined {
    return this.usage;
  }

  /** The answer's text, as far as it was kept. */
  text(): string {
    return this.collected.slice(0, this.o.collectBytes);
  }
}
