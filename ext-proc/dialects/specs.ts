// Each dialect's spec in one table: where its chat API is, how its requests, answers, errors and
// streams are read into the neutral form and written from it. The processor looks a dialect up
// here; nothing else knows a dialect's shapes.
import { ANTHROPIC_VERSION, readAnthropicRequest, writeAnthropicRequest } from './anthropic-request.js';
import { readAnthropicAnswer, readAnthropicError, writeAnthropicAnswer, writeAnthropicError } from './anthropic-answer.js';
import { AnthropicStreamReader, AnthropicStreamWriter } from './anthropic-stream.js';
import type { Answer, ApiError, ChatRequest, Dialect, StreamEvent } from './neutral.js';
import { readOpenAiRequest, writeOpenAiRequest } from './openai-request.js';
import { readOpenAiAnswer, readOpenAiError, writeOpenAiAnswer, writeOpenAiError } from './openai-answer.js';
import { OpenAiStreamReader, OpenAiStreamWriter } from './openai-stream.js';
import type { Json } from './read-json.js';
import type { SseEvent } from './sse.js';

export interface StreamReader {
  read(e: SseEvent): StreamEvent[];
}
export interface StreamWriter {
  write(e: StreamEvent): string;
}

export interface DialectSpec {
  readonly dialect: Dialect;
  /** The path of its chat API on a service. */
  readonly chatPath: string;
  /** Headers a service of this dialect expects on every call. */
  readonly serviceHeaders: ReadonlyArray<readonly [string, string]>;
  readRequest(body: Json, target: Dialect): ChatRequest;
  writeRequest(r: ChatRequest, model: string): Json;
  readAnswer(body: unknown): Answer | undefined;
  writeAnswer(a: Answer, created: number): Json;
  readError(status: number, body: unknown): ApiError;
  writeError(e: ApiError): Json;
  streamReader(): StreamReader;
  /** `withUsage`: the caller asked for usage in the stream (a dialect that always sends it ignores this). */
  streamWriter(withUsage: boolean, created: number): StreamWriter;
}

export const SPECS: Readonly<Record<Dialect, DialectSpec>> = {
  openai: {
    dialect: 'openai',
    chatPath: '/v1/chat/completions',
    serviceHeaders: [],
    readRequest: readOpenAiRequest,
    writeRequest: writeOpenAiRequest,
    readAnswer: readOpenAiAnswer,
    writeAnswer: writeOpenAiAnswer,
    readError: readOpenAiError,
    writeError: writeOpenAiError,
    streamReader: () => new OpenAiStreamReader(),
    streamWriter: (withUsage, created) => new OpenAiStreamWriter(withUsage, created),
  },
  anthropic: {
    dialect: 'anthropic',
    chatPath: '/v1/messages',
    serviceHeaders: [['anthropic-version', ANTHROPIC_VERSION]],
    readRequest: readAnthropicRequest,
    writeRequest: (r, model) => writeAnthropicRequest(r, model),
    readAnswer: readAnthropicAnswer,
    writeAnswer: (a) => writeAnthropicAnswer(a),
    readError: readAnthropicError,
    writeError: writeAnthropicError,
    streamReader: () => new AnthropicStreamReader(),
    streamWriter: () => new AnthropicStreamWriter(),
  },
};
