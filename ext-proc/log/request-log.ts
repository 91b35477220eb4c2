// The request log: what was asked and answered, one JSON line per call, for the services that
// opted in (meta request-log=on). Prompt and completion are redacted (redact.ts) and capped;
// streams are reassembled from their deltas. To stdout by default, to a file when set; writes
// that would pile up behind a slow disk are dropped and counted, never held without bound.
import fs from 'node:fs';
import type { Counter } from 'prom-client';
import type { CallRecord } from '../engine/call-record.js';
import { messagesText, turnText } from '../../shared/openai-messages.js';
import { capped, type Redactor } from './redact.js';

/** A finished call, with what was asked and answered. */
export interface RequestLogRecord extends CallRecord {
  readonly prompt: string;
  readonly completion: string;
}

export interface RequestLogOptions {
  /** undefined: stdout. */
  readonly file: string | undefined;
  /** Of the prompt and of the completion, each. */
  readonly maxFieldBytes: number;
  readonly redact: Redactor;
  /** Lines dropped because the sink was this far behind. */
  readonly maxPendingBytes: number;
  readonly dropped: Counter;
}

export class RequestLog {
  private readonly out: NodeJS.WritableStream & { writableLength: number };

  constructor(private readonly o: RequestLogOptions) {
    this.out = o.file ? fs.createWriteStream(o.file, { flags: 'a' }) : process.stdout;
  }

  write(r: RequestLogRecord): void {
    if (this.out.writableLength > this.o.maxPendingBytes) {
      this.o.dropped.inc();
      return;
    }
    const prompt = capped(this.o.redact(r.prompt), this.o.maxFieldBytes);
    const completion = capped(this.o.redact(r.completion), this.o.maxFieldBytes);
    const line = {
      time: new Date().toISOString(),
      msg: 'llm call',
      request_id: r.requestId,
      operation: r.operation,
      client_dialect: r.clientDialect,
      service_dialect: r.serviceDialect,
      model: r.model,
      requested_model: r.requestedModel,
      service: r.service,
      tenant: r.tenant,
      status: r.status,
      duration_ms: Math.round(r.durationSeconds * 1000),
      tokens: { prompt: r.usage?.promptTokens ?? null, completion: r.usage?.completionTokens ?? null, total: r.usage?.totalTokens ?? null },
      ...(r.costMicros !== undefined ? { cost: r.costMicros / 1e6 } : {}),
      prompt: prompt.text,
      completion: completion.text,
      ...(prompt.truncatedBytes || completion.truncatedBytes ? { truncated_bytes: { prompt: prompt.truncatedBytes, completion: completion.truncatedBytes } } : {}),
    };
    this.out.write(`${JSON.stringify(line)}\n`);
  }

  close(): void {
    if (this.out !== process.stdout) (this.out as fs.WriteStream).end();
  }
}

/** What a request asked, as text: the messages (one a line, content parts reassembled as text, tool calls and results named), the prompt or the input. */
export function promptOf(request: Readonly<Record<string, unknown>>): string {
  if (Array.isArray(request['messages'])) return messagesText(request['messages']);
  const asked = request['prompt'] ?? request['input'];
  return asked === undefined ? '' : typeof asked === 'string' ? asked : JSON.stringify(asked);
}

/** What a plain JSON answer said: each choice's message content or text, joined. */
export function completionOf(answer: unknown): string {
  const choices = (answer as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) return '';
  return choices
    .map((c: { message?: unknown; text?: unknown }) => (c?.message ? turnText(c.message) : typeof c?.text === 'string' ? c.text : ''))
    .join('\n');
}
