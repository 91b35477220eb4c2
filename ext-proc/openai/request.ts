// What the LLM processor reads of an OpenAI-style request before anything reaches a service:
// the body's `model` and whether it streams, and the body a service gets. Bad input is answered by the gateway in OpenAI's
// error shape (`error.message`, `error.type`, `error.param`, `error.code`), which OpenAI's client
// libraries turn into their own errors: a body that is no JSON object, one without a model, a
// model no healthy service serves (404, naming the models one may use), a body over the limit.
export interface ModelRequest {
  readonly model: string;
  readonly stream: boolean;
  /** The body as parsed: read once, rewritten from (forwardedBody). */
  readonly parsed: Readonly<Record<string, unknown>>;
}

export interface OpenAiError {
  readonly status: number;
  readonly body: { readonly error: { readonly message: string; readonly type: string; readonly param: string | null; readonly code: string | null } };
}

export type ReadRequest = { readonly ok: true; readonly request: ModelRequest } | { readonly ok: false; readonly error: OpenAiError };

const failure = (status: number, message: string, param: string | null, code: string | null): ReadRequest => ({
  ok: false,
  error: { status, body: { error: { message, type: 'invalid_request_error', param, code } } },
});

/** At most this many model names in a 404's message: the list must not grow without bound. */
const NAMED_MODELS_MAX = 20;

export function readModelRequest(body: Buffer, o: { readonly maxBytes: number; readonly models: ReadonlySet<string> }): ReadRequest {
  if (body.length > o.maxBytes) return failure(413, `the request body is ${body.length} bytes; at most ${o.maxBytes} are accepted`, null, 'request_too_large');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return failure(400, 'We could not parse the JSON body of your request.', null, null);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return failure(400, 'The request body must be a JSON object.', null, null);
  const model = (parsed as Record<string, unknown>)['model'];
  if (typeof model !== 'string' || model === '') return failure(400, 'you must provide a model parameter', 'model', null);
  if (!o.models.has(model)) {
    const names = [...o.models].sort();
    const listed = names.slice(0, NAMED_MODELS_MAX).join(', ') + (names.length > NAMED_MODELS_MAX ? `, and ${names.length - NAMED_MODELS_MAX} more (GET /v1/models)` : '');
    return failure(404, `The model \`${model}\` does not exist or you do not have access to it.${names.length ? ` Models you can use: ${listed}.` : ''}`, 'model', 'model_not_found');
  }
  return { ok: true, request: { model, stream: (parsed as Record<string, unknown>)['stream'] === true, parsed: parsed as Record<string, unknown> } };
}

/** Whether a Chat Completions request asked for usage in its stream itself (stream_options.include_usage). */
export function asksStreamUsage(parsed: Readonly<Record<string, unknown>>): boolean {
  const options = parsed['stream_options'];
  return !!options && typeof options === 'object' && (options as Record<string, unknown>)['include_usage'] === true;
}

/** A stream whose caller did not ask for usage: the gateway asks for it (and takes it out of the answer again). */
export const injectsStreamUsage = (r: ModelRequest): boolean => r.stream && !asksStreamUsage(r.parsed);

/**
 * The body a service gets: the model it serves (an alias resolved), and, for a stream whose
 * caller did not ask for usage, `stream_options.include_usage` — `injected` then says the
 * usage-only event must be taken out of the answer again; and `priority`, when given, for a
 * server that schedules by it (vLLM's request field). `body` is undefined when nothing changed
 * (the caller's bytes go on as they are).
 */
export function forwardedBody(r: ModelRequest, model: string, priority?: number): { body: Buffer | undefined; injected: boolean } {
  const injected = injectsStreamUsage(r);
  if (!injected && model === r.model && priority === undefined) return { body: undefined, injected: false };
  const options = r.parsed['stream_options'];
  const rewritten = {
    ...r.parsed,
    model,
    ...(priority !== undefined ? { priority } : {}),
    ...(injected ? { stream_options: { ...(options && typeof options === 'object' ? options : {}), include_usage: true } } : {}),
  };
  return { body: Buffer.from(JSON.stringify(rewritten)), injected };
}
