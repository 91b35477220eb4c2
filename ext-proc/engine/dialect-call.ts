// A call whose caller or service speaks another dialect than OpenAI's Chat Completions: the body,
// path and headers the service gets, decided once with the request body. The caller's request is
// read into the neutral form (a request the service's dialect cannot express is refused here, in
// the caller's dialect, with the feature's name) and written in the service's; a call whose both
// sides speak one dialect keeps its bytes (an alias resolved is the one change).
import { CLIENT_DIALECT_OF_PATH, LLM_OPERATIONS, type ClientDialect, type LlmOperation } from '../../shared/llm-gateway.js';
import { type ApiError, type ChatRequest, type Dialect, InvalidRequestError, UntranslatableError } from '../dialects/neutral.js';
import { readOpenAiError } from '../dialects/openai-answer.js';
import { CLIENTS, SERVICES } from '../dialects/specs.js';
import { asksStreamUsage } from '../openai/request.js';

const OPERATIONS: ReadonlyMap<string, LlmOperation> = new Map(Object.entries(LLM_OPERATIONS));

/** What the path a caller called says: the operation (undefined: not a model API) and the caller's dialect. */
export function callOf(path: string): { readonly operation: LlmOperation | undefined; readonly client: ClientDialect } {
  return { operation: OPERATIONS.get(path), client: CLIENT_DIALECT_OF_PATH[path] ?? 'openai' };
}

export interface DialectRequest {
  /** The service's body; undefined: the caller's bytes go on. */
  readonly body: Buffer | undefined;
  /** The service's path and the headers its dialect expects (with the body's length). */
  readonly setHeaders: ReadonlyArray<readonly [string, string]>;
  /**
   * The request in the neutral form (the request log and the picker read its text), read when
   * first asked for a request passed on as it is; undefined for one the neutral form cannot hold.
   */
  neutral(): ChatRequest | undefined;
  /** The caller asked for usage in its stream. */
  readonly streamUsage: boolean;
}

/**
 * The request with a `priority` for its server (vLLM's request field), when the service speaks
 * OpenAI's dialect: its body written once more, its length with it.
 */
export function withPriority(d: DialectRequest, priority: number): DialectRequest {
  if (!d.body) return d;
  const body = Buffer.from(JSON.stringify({ ...(JSON.parse(d.body.toString()) as Record<string, unknown>), priority }));
  return { ...d, body, setHeaders: d.setHeaders.map(([k, v]) => [k, k === 'content-length' ? String(body.length) : v] as const) };
}

/** An OpenAI caller asks for usage in its stream (stream_options.include_usage); the other dialects' streams always carry it. */
const wantsStreamUsage = (client: ClientDialect, parsed: Readonly<Record<string, unknown>>): boolean => client !== 'openai' || asksStreamUsage(parsed);

/**
 * The caller's request passed on as it is, to a service of its own dialect: whatever the dialect
 * has (extended thinking, documents, …) reaches it; an alias's model name is the one change.
 */
export function passedOn(client: ClientDialect, target: Dialect, parsed: Record<string, unknown>, model: string): DialectRequest {
  const body = parsed['model'] === model ? undefined : Buffer.from(JSON.stringify({ ...parsed, model }));
  let read: { neutral: ChatRequest | undefined } | undefined;
  const neutral = (): ChatRequest | undefined => {
    if (!read) {
      try {
        read = { neutral: CLIENTS[client].readRequest(parsed, target) };
      } catch {
        read = { neutral: undefined };
      }
    }
    return read.neutral;
  };
  return { body, setHeaders: body ? [['content-length', String(body.length)]] : [], neutral, streamUsage: wantsStreamUsage(client, parsed) };
}

/** A request one side cannot express, or that is not valid in its own dialect: the caller's 400. */
function refusalOf(err: unknown): ApiError {
  if (err instanceof UntranslatableError) return { status: 400, kind: 'invalid_request', message: err.message, param: err.feature, code: 'untranslatable_feature' };
  if (err instanceof InvalidRequestError) return { status: 400, kind: 'invalid_request', message: err.message, ...(err.param ? { param: err.param } : {}) };
  throw err;
}

/** Read in the caller's dialect, written in the service's (`adjust`: what the call changes on the way). */
function translated(client: ClientDialect, service: Dialect, parsed: Record<string, unknown>, model: string, adjust: (r: ChatRequest) => ChatRequest = (r) => r): DialectRequest | ApiError {
  let neutral: ChatRequest;
  let body: Buffer;
  try {
    neutral = CLIENTS[client].readRequest(parsed, service);
    body = Buffer.from(JSON.stringify(SERVICES[service].writeRequest(adjust(neutral), model)));
  } catch (err) {
    return refusalOf(err);
  }
  return {
    body,
    setHeaders: [[':path', SERVICES[service].chatPath], ...SERVICES[service].serviceHeaders, ['content-length', String(body.length)]],
    neutral: () => neutral,
    streamUsage: wantsStreamUsage(client, parsed),
  };
}

export function dialectRequest(client: ClientDialect, service: Dialect, operation: LlmOperation, parsed: Record<string, unknown>, model: string): DialectRequest | ApiError {
  if (operation === 'count_tokens') return countTokensRequest(service, parsed, model);
  if ((client as string) === service) return passedOn(client, service, parsed, model);
  if (operation !== 'chat') return { status: 400, kind: 'invalid_request', message: `the model \`${model}\` is served by a service that speaks the ${service} API, which has no ${operation} API`, param: 'model' };
  return translated(client, service, parsed, model);
}

/**
 * Anthropic's count_tokens: passed on to an Anthropic-dialect service (checked first); a service
 * without a count API is asked the message with room for one token, and its own tokenizer's
 * prompt count is the answer (exact for that model, at the price of a prefill, which the call is charged).
 */
function countTokensRequest(service: Dialect, parsed: Record<string, unknown>, model: string): DialectRequest | ApiError {
  const asked = { ...parsed, max_tokens: 1 };
  if (service !== 'anthropic') return translated('anthropic', service, asked, model, (r) => ({ ...r, maxTokens: 1, stream: false }));
  let neutral: ChatRequest;
  try {
    neutral = CLIENTS.anthropic.readRequest(asked, service);
  } catch (err) {
    return refusalOf(err);
  }
  return { ...passedOn('anthropic', service, parsed, model), neutral: () => neutral };
}

export const isApiError = (x: DialectRequest | ApiError): x is ApiError => 'kind' in x;

/** An error the gateway answers itself, in the caller's dialect (the processor writes its errors in OpenAI's). */
export function errorInDialect(client: ClientDialect, status: number, openAiBody: unknown): Buffer {
  if (client === 'openai') return Buffer.from(JSON.stringify(openAiBody));
  return Buffer.from(JSON.stringify(CLIENTS[client].writeError(readOpenAiError(status, openAiBody))));
}

export function apiErrorBody(client: ClientDialect, e: ApiError): Buffer {
  return Buffer.from(JSON.stringify(CLIENTS[client].writeError(e)));
}
