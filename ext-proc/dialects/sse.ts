// Server-sent events (the WHATWG event-stream format) as model APIs stream them: events split
// on blank lines however the bytes are cut, each event's `event:` name and `data:` lines. Bounded:
// an event longer than `maxEventBytes` is an error, never held without end.

export interface SseEvent {
  /** The `event:` field; undefined when the event has none. */
  readonly name: string | undefined;
  /** The `data:` lines joined by newlines; undefined when the event has none. */
  readonly data: string | undefined;
}

export class EventTooLongError extends Error {}

const BLANK_LINE = /\r\n\r\n|\n\n|\r\r/;

/** One event's text (without its blank line) read into its fields. */
export function parseEvent(text: string): SseEvent {
  let name: string | undefined;
  let data: string | undefined;
  for (const line of text.split(/\r\n|\n|\r/)) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(line[colon + 1] === ' ' ? colon + 2 : colon + 1);
    if (field === 'event') name = value;
    else if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
  }
  return { name, data };
}

export class SseSplitter {
  private pending = '';
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly maxEventBytes = 1 << 20) {}

  /** The whole events in this chunk and those before it; a partial one waits for the next chunk. */
  push(chunk: Uint8Array): SseEvent[] {
    this.pending += this.decoder.decode(chunk, { stream: true });
    const out: SseEvent[] = [];
    for (;;) {
      const m = BLANK_LINE.exec(this.pending);
      if (!m) break;
      const text = this.pending.slice(0, m.index);
      this.pending = this.pending.slice(m.index + m[0].length);
      if (text.trim()) out.push(parseEvent(text));
    }
    if (this.pending.length > this.maxEventBytes) throw new EventTooLongError(`a streamed event is longer than ${this.maxEventBytes} bytes`);
    return out;
  }

  /** The stream ended: an event it did not end with a blank line still counts. */
  end(): SseEvent[] {
    const rest = this.pending + this.decoder.decode();
    this.pending = '';
    return rest.trim() ? [parseEvent(rest)] : [];
  }
}

/** One event as bytes on the wire. */
export function sseEvent(data: string, name?: string): string {
  return `${name ? `event: ${name}\n` : ''}data: ${data}\n\n`;
}
