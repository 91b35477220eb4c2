// Each dialect's spec in two tables: what the gateway needs of a model service that speaks it
// (where its chat API is, how a request is written for it, how its answers, errors and streams
// are read) and what it needs of a caller that speaks it (how its requests are read, how answers,
// errors and streams are written for it). The processor looks a dialect up here; nothing else
// knows a dialect's shapes. Ollama is a service dialect only; OpenAI's Responses API a caller's.
import type { ClientDialect } from '../../shared/llm-gateway.js';
import { ANTHROPIC_VERSION, readAnthropicRequest, writeAnthropicRequest } from './anthropic-request.js';
import { readAnthropicAnswer, readAnthropicError, writeAnthropicAnswer, writeAnthropicError } from './anthropic-answer.js';
import { AnthropicStreamReader, AnthropicStreamWriter } from './anthropic-stream.js';
import type { Answer, ApiError, ChatRequest, Dialect, StreamEvent } from './neutral.js';
import { readOllamaAnswer, readOllamaError, writeOllamaRequest } from './ollama.js';
import { OllamaStreamReader } from './ollama-stream.js';
import { readOpenAiRequest, writeOpenAiRequest } from './openai-request.js';
import { readOpenAiAnswer, readOpenAiError, writeOpenAiAnswer, writeOpenAiError } from './openai-answer.js';
import { OpenAiStreamReader, OpenAiStreamWriter } from './openai-stream.js';
import { writeResponsesAnswer } from './responses-answer.js';
import { readResponsesRequest } from './responses-request.js';
import { ResponsesStreamWriter } from './responses-stream.js';
import type { Json } from './read-json.js';
import type { SseEvent } from './sse.js';

export interface StreamReader {
  read(e: SseEvent): StreamEvent[];
}
export interface StreamWriter {
  write(e: StreamEvent): string;
}

export interface ServiceSpec {
  readonly dialect: Dialect;
  /** The path of its chat API on a service. */
  readonly chatPath: string;
  /** Headers a service of this dialect expects on every call. */
  readonly serviceHeaders: ReadonlyArray<readonly [string, string]>;
  /** How its streams are framed: server-sent events, or one JSON object a line. */
  readonly framing: 'sse' | 'ndjson';
  writeRequest(r: ChatRequest, model: string): Json;
  readAnswer(body: unknown): Answer | undefined;
  readError(status: number, body: unknown): ApiError;
  streamReader(): StreamReader;
}

export interface ClientSpec {
  readonly dialect: ClientDialect;
  /** A request in this dialect, read for a service that speaks `target`. */
  readRequest(body: Json, target: Dialect): ChatRequest;
  writeAnswer(a: Answer, created: number): Json;
  writeError(e: ApiError): Json;
  /** `withUsage`: the caller asked for usage in the stream (a dialect that always sends it ignores this). */
  streamWriter(withUsage: boolean, created: number): StreamWriter;
}

export const SERVICES: Readonly<Record<Dialect, ServiceSpec>> = {
  openai: {
    dialect: 'openai',
    chatPath: '/v1/chat/completions',
    serviceHeaders: [],
    framing: 'sse',
    writeRequest: writeOpenAiRequest,
    readAnswer: readOpenAiAnswer,
    readError: readOpenAiError,
    streamReader: () => new OpenAiStreamReader(),
  },
  anthropic: {
    dialect: 'anthropic',
    chatPath: '/v1/messages',
    serviceHeaders: [['anthropic-version', ANTHROPIC_VERSION]],
    framing: 'sse',
    writeRequest: (r, model) => writeAnthropicRequest(r, model),
    readAnswer: readAnthropicAnswer,
    readError: readAnthropicError,
    streamReader: () => new AnthropicStreamReader(),
  },
  ollama: {
    dialect: 'ollama',
    chatPath: '/api/chat',
    serviceHeaders: [],
    framing: 'ndjson',
    writeRequest: writeOllamaRequest,
    readAnswer: readOllamaAnswer,
    readError: readOllamaError,
    streamReader: () => new OllamaStreamReader(),
  },
};

export const CLIENTS: Readonly<Record<ClientDialect, ClientSpec>> = {
  openai: {
    dialect: 'openai',
    readRequest: readOpenAiRequest,
    writeAnswer: writeOpenAiAnswer,
    writeError: writeOpenAiError,
    streamWriter: (withUsage, created) => new OpenAiStreamWriter(withUsage, created),
  },
  anthropic: {
    dialect: 'anthropic',
    readRequest: readAnthropicRequest,
    writeAnswer: (a) => writeAnthropicAnswer(a),
    writeError: writeAnthropicError,
    streamWriter: () => new AnthropicStreamWriter(),
  },
  'openai-responses': {
    dialect: 'openai-responses',
    readRequest: readResponsesRequest,
    writeAnswer: writeResponsesAnswer,
    writeError: writeOpenAiError,
    streamWriter: (_withUsage, created) => new ResponsesStreamWriter(created),
  },
};
