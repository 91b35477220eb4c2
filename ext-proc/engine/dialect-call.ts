// A call whose caller or service speaks another dialect than OpenAI's Chat Completions: the body,
// path and headers the service gets, decided once with the request body. The caller's request is
// read into the neutral form (a request the service's dialect cannot express is refused here, in
// the caller's dialect, with the feature's name) and written in the service's; a call whose both
// sides speak one dialect keeps its bytes (an alias resolved is the one change).
import type { ClientDialect, LlmOperation } from '../../shared/llm-gateway.js';
import { type ApiError, type ChatRequest, type Dialect, InvalidRequestError, UntranslatableError } from '../dialects/neutral.js';
import { readOpenAiError } from '../dialects/openai-answer.js';
import { CLIENTS, SERVICES } from '../dialects/specs.js';

export interface DialectRequest {
  /** The service's body; undefined: the caller's bytes go on. */
  readonly body: Buffer | undefined;
  /** The service's path and the headers its dialect expects (with the body's length). */
  readonly setHeaders: ReadonlyArray<readonly [string, string]>;
  /** The request in the neutral form (the request log and the picker read its text); undefined for a request passed on as it is that the neutral form cannot hold. */
  readonly neutral: ChatRequest | undefined;
  /** The caller asked for usage in its stream. */
  readonly streamUsage: boolean;
}

export function dialectRequest(client: ClientDialect, service: Dialect, operation: LlmOperation, parsed: Record<string, unknown>, model: string): DialectRequest | ApiError {
  if (operation === 'count_tokens') return countTokensRequest(service, parsed, model);
  if ((client as string) === service) {
    // Passed on as it is: whatever the dialect has (extended thinking, documents, …) reaches its own kind of service.
    let neutral: ChatRequest | undefined;
    try {
      neutral = CLIENTS[client].readRequest(parsed, service);
    } catch {
      neutral = undefined;
    }
    const body = parsed['model'] === model ? undefined : Buffer.from(JSON.stringify({ ...parsed, model }));
    return { body, setHeaders: body ? [['content-length', String(body.length)]] : [], neutral, streamUsage: neutral?.streamUsage ?? parsed['stream'] === true };
  }
  if (operation !== 'chat') return { status: 400, kind: 'invalid_request', message: `the model \`${model}\` is served by a service that speaks the ${service} API, which has no ${operation} API`, param: 'model' };
  let neutral: ChatRequest;
  try {
    neutral = CLIENTS[client].readRequest(parsed, service);
  } catch (err) {
    if (err instanceof UntranslatableError) return { status: 400, kind: 'invalid_request', message: err.message, param: err.feature, code: 'untranslatable_feature' };
    if (err instanceof InvalidRequestError) return { status: 400, kind: 'invalid_request', message: err.message, ...(err.param ? { param: err.param } : {}) };
    throw err;
  }
  let written: Record<string, unknown>;
  try {
    written = SERVICES[service].writeRequest(neutral, model);
  } catch (err) {
    if (err instanceof UntranslatableError || err instanceof InvalidRequestError) return { status: 400, kind: 'invalid_request', message: err.message, ...(err instanceof UntranslatableError ? { param: err.feature, code: 'untranslatable_feature' } : {}) };
    throw err;
  }
  const body = Buffer.from(JSON.stringify(written));
  return {
    body,
    setHeaders: [[':path', SERVICES[service].chatPath], ...SERVICES[service].serviceHeaders, ['content-length', String(body.length)]],
    neutral,
    streamUsage: neutral.streamUsage,
  };
}

/**
 * Anthropic's count_tokens: passed on to an Anthropic-dialect service; a service without a count
 * API is asked the message with room for one token, and its own tokenizer's prompt count is the
 * answer (exact for that model, at the price of a prefill, which the call is charged).
 */
function countTokensRequest(service: Dialect, parsed: Record<string, unknown>, model: string): DialectRequest | ApiError {
  let neutral: ChatRequest;
  try {
    neutral = CLIENTS.anthropic.readRequest({ ...parsed, max_tokens: 1 }, service);
  } catch (err) {
    if (err instanceof UntranslatableError || err instanceof InvalidRequestError) return { status: 400, kind: 'invalid_request', message: err.message };
    throw err;
  }
  if (service === 'anthropic') {
    const body = parsed['model'] === model ? undefined : Buffer.from(JSON.stringify({ ...parsed, model }));
    return { body, setHeaders: body ? [['content-length', String(body.length)]] : [], neutral, streamUsage: false };
  }
  const body = Buffer.from(JSON.stringify(SERVICES[service].writeRequest({ ...neutral, maxTokens: 1, stream: false, streamUsage: false }, model)));
  return { body, setHeaders: [[':path', SERVICES[service].chatPath], ...SERVICES[service].serviceHeaders, ['content-length', String(body.length)]], neutral, streamUsage: false };
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
