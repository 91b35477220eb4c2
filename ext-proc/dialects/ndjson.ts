// Newline-delimited JSON as Ollama streams it: one JSON object a line, split however the bytes
// are cut. Each line is handed on as a frame's data (the shape server-sent events are read in),
// so a stream reader does not care how its frames came. Bounded like the event splitter.
import { EventTooLongError, type SseEvent } from './sse.js';

export class NdjsonSplitter {
  private pending = '';
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly maxLineBytes = 1 << 20) {}

  push(chunk: Uint8Array): SseEvent[] {
    this.pending += this.decoder.decode(chunk, { stream: true });
    const out: SseEvent[] = [];
    for (let nl = this.pending.indexOf('\n'); nl >= 0; nl = this.pending.indexOf('\n')) {
      const line = this.pending.slice(0, nl).trim();
      this.pending = this.pending.slice(nl + 1);
      if (line) out.push({ name: undefined, data: line });
    }
    if (this.pending.length > this.maxLineBytes) throw new EventTooLongError(`a streamed line is longer than ${this.maxLineBytes} bytes`);
    return out;
  }

  end(): SseEvent[] {
    const rest = (this.pending + this.decoder.decode()).trim();
    this.pending = '';
    return rest ? [{ name: undefined, data: rest }] : [];
  }
}
