// One HTTP call through the LLM processor, phase by phase as Envoy's ext_proc stream brings it.
// The gateway does not send the answer's headers (what is read of them comes as attributes with
// its first chunk: ResponseFacts); a peer that sends them is served the same:
//   request headers  → go on (the operation and the caller's dialect from the path, the tenant
//                      ext-authz established);
//   request body     → the model read (bad input answered here, in the caller's error shape), an
//                      alias resolved, the body rewritten when the service must get another model
//                      or a stream must report usage, or written in the dialect of the model's
//                      services (dialect-call.ts), the model filed in dynamic metadata and
//                      the route cleared so Envoy routes by it; a reusable request answered
//                      from the response cache when it is there; a call of a picked model
//                      placed on an instance by the endpoint picker (held while its pool is
//                      saturated, or refused with a 429);
//   response headers → the status and the service;
//   response body    → chunks passed on as they come (a usage event the gateway asked for
//                      itself taken out), or translated into the caller's dialect, usage read; at the end, the tokens into dynamic
//                      metadata (for the access log and token budgets), the metrics, the request
//                      log (when the service logs), the cache (a whole 200 that may be reused).
// No I/O of its own: a phase in, the encoded answer out (a promise only while a Redis cache is asked).
import { randomBytes } from 'node:crypto';
import { BUDGET_METADATA, CACHE_METADATA_KEY, CLIENT_PATH_HEADER, ENDPOINT_METADATA_KEY, LLM_METADATA_NAMESPACE, MODEL_HEADER, MODEL_METADATA_KEY, PRIORITY_HEADER, REQUESTED_MODEL_METADATA_KEY, SERVICE_HEADER, USAGE_METADATA_KEYS, type ClientDialect, type Dialect, type LlmOperation } from '../../shared/llm-gateway.js';
import { AnswerTranslator } from '../dialects/answer-translator.js';
import { answerText, conversationText, type Usage as TokenUsage } from '../dialects/neutral.js';
import { CLIENTS, SERVICES } from '../dialects/specs.js';
import { apiErrorBody, callOf, dialectRequest, errorInDialect, isApiError, passedOn, withPriority, type DialectRequest } from './dialect-call.js';
import { CACHE_HEADER, cacheable, cacheKey } from '../cache/key.js';
import type { CacheStore } from '../cache/store.js';
import { forwardedBody, injectsStreamUsage, readModelRequest, type ModelRequest, type OpenAiError } from '../openai/request.js';
import { completionOf, promptOf, type RequestLogRecord } from '../log/request-log.js';
import { parseAnswer, StreamUsageReader, usageOf, usageOfAnswerTail, type Usage } from '../openai/usage.js';
import { BodySendMode, encodeContinue, encodeImmediate, plainContinue, type AuthzFacts, type Phase, type ResponseFacts } from '../server/codec.js';
import type { Caller, EndpointPicker, PlacedCall, Placement } from '../picker/endpoint-picker.js';
import { isPriority, lowerOf, type Priority } from '../picker/fair-queue.js';
import { chargeOf, reservationOf, type Price, type Reservation } from './budget.js';
import type { CallRecord } from './call-record.js';
import type { ModelTable } from './model-table.js';


export interface ExchangeSettings {
  readonly maxRequestBytes: number;
  /** A plain JSON answer is read for its usage up to this size; past it, passed on unread. */
  readonly maxResponseBytes: number;
  readonly tenantHeader: string;
  readonly now: () => number;
  /** How much of a streamed answer's text is kept for the request log (when its service logs). */
  readonly logFieldBytes: number;
  /** The response cache, when on. */
  readonly cache?: { readonly store: CacheStore; readonly maxEntryBytes: number; readonly onLookup: (hit: boolean) => void };
  /** The endpoint picker, when on: it places the calls of the table's `picked` models. */
  readonly picker?: Picker;
  /** The longest a call waits in its pool's queue (the picker's bound). */
  readonly queueMaxWaitMs?: number;
}

export type Picker = Pick<EndpointPicker, 'place' | 'done'>;

/** A call refused because its model pool is saturated: try again in this many seconds. */
const POOL_RETRY_AFTER_SECONDS = 1;

let cacheMiss: Buffer | undefined;
/** A plain answer's headers, told it was not in the cache (it will be, if it is a whole 200). */
const CACHE_MISS_HEADERS = (): Buffer => (cacheMiss ??= encodeContinue('response_headers', { setHeaders: [[CACHE_HEADER, 'miss']] }));

/** Body answers that route a call with its body unchanged, per table: one per name, the model it goes to and whether the cache missed. */
const ROUTED = new WeakMap<ModelTable, Map<string, Buffer>>();

type Facts = Record<string, string | number>;

/**
 * The request body's answer: the model the call goes to, the body the service gets when it
 * changed, and the endpoint the picker chose and the budget reservation (then it is the call's
 * own, encoded per call).
 */
function routedAnswer(table: ModelTable, requested: string, model: string, body: Buffer | undefined, cacheMiss: boolean, endpoint: string | undefined, budget: Facts | undefined, dialect?: DialectRequest): Buffer {
  const encode = (): Buffer =>
    encodeContinue('request_body', {
      // The model for the service to see (a caller's copy overwritten); Envoy clears the route
      // only with a header mutation. And Envoy refuses a body whose length differs from the
      // content-length it came with. A service of another dialect: its path and headers too.
      setHeaders: dialect ? [[MODEL_HEADER, model], ...dialect.setHeaders] : body ? [[MODEL_HEADER, model], ['content-length', String(body.length)]] : [[MODEL_HEADER, model]],
      ...(body ? { body } : {}),
      // The model routes match this; clearing the route makes Envoy match again.
      // A cache miss too: the model route says so in the answer's CACHE_HEADER.
      metadata: {
        [LLM_METADATA_NAMESPACE]: {
          [MODEL_METADATA_KEY]: model,
          [REQUESTED_MODEL_METADATA_KEY]: requested,
          ...(cacheMiss ? { [CACHE_METADATA_KEY]: 'miss' } : {}),
          ...(endpoint ? { [ENDPOINT_METADATA_KEY]: endpoint } : {}),
          ...budget,
        },
      },
      clearRouteCache: true,
    });
  if (body || endpoint || budget || dialect) return encode();
  let byName = ROUTED.get(table);
  if (!byName) ROUTED.set(table, (byName = new Map()));
  const key = `${requested}\u0000${model}\u0000${cacheMiss}`;
  let bytes = byName.get(key);
  if (!bytes) byName.set(key, (bytes = encode()));
  return bytes;
}

const STREAMED = new Map<boolean, Buffer>();
/** The answer to a stream's response headers, encoded once: chunk by chunk, without a length when its bytes change. */
function streamedAnswer(dropping: boolean): Buffer {
  let b = STREAMED.get(dropping);
  if (!b) STREAMED.set(dropping, (b = encodeContinue('response_headers', { responseBodyMode: BodySendMode.STREAMED, ...(dropping ? { removeHeaders: ['content-length'] } : {}) })));
  return b;
}

export class Exchange {
  private operation: LlmOperation | undefined;
  private tenant = '';
  private requestId = '';
  private request: ModelRequest | undefined;
  private model = '';
  private service = '';
  private status = 0;
  private startedAt = 0;
  private firstChunkAt: number | undefined;
  private stream: StreamUsageReader | undefined;
  private jsonChunks: Buffer[] = [];
  private cacheAllowed = false;
  /** The caller's ext-authz policy asks for its calls to be logged. */
  private logByPolicy = false;
  /** Set on a cache miss: the answer is stored under it when it is a whole 200. */
  private cacheKey: string | undefined;
  private jsonBytes = 0;
  private finished = false;
  /** Where the picker placed this call, released when it ends. */
  private placed: PlacedCall | undefined;
  /** Takes the call out of its pool's queue while it waits there. */
  private unqueue: (() => void) | undefined;
  /** The model's price, when it has one. */
  private price: Price | undefined;
  /** What the call reserved of its budgets, when budgets are in force. */
  private reserved: Reservation | undefined;
  /** The call's place in a saturated pool: its policy's priority (a caller may lower it) and tenant weight. */
  private caller: Caller = { priority: 'standard', tenant: '', weight: 1 };
  /** The dialect the caller speaks (by the path it called), and the one the model's services speak. */
  private client: ClientDialect = 'openai';
  private service_: Dialect = 'openai';
  /** Set when either side speaks another dialect than OpenAI's: the request as the service gets it. */
  private dialect: DialectRequest | undefined;
  /** Reads (and, between dialects, rewrites) the answer of such a call. */
  private translator: AnswerTranslator | undefined;
  /** The path the caller called. */
  private path = '';
  /** For a model whose services speak different dialects: each one's (the answering service's decides how its answer is read). */
  private mixed: ReadonlyMap<string, Dialect> | undefined;
  /** An OpenAI caller's stream had usage asked for by the gateway (its usage-only event is taken out again). */
  private injected = false;

  constructor(
    private readonly table: ModelTable,
    private readonly s: ExchangeSettings,
    private readonly onDone: (record: CallRecord) => void,
    /** A request answered by the gateway itself, by its OpenAI error code. */
    private readonly onRefused: (code: string) => void = () => undefined,
    /** A call of a service that logs its calls (the table's `logged`). */
    private readonly onLog: (record: RequestLogRecord) => void = () => undefined,
    /** The call waits for room in its model pool: Envoy must be told to wait longer for the answer. */
    private readonly onQueued: () => void = () => undefined,
  ) {}

  /** The encoded answer to one of Envoy's messages (a promise while the cache is asked, on Redis). */
  handle(p: Phase): Buffer | Promise<Buffer> {
    switch (p.kind) {
      case 'request_headers':
        return this.requestHeaders(p.headers, p.authz);
      case 'request_body':
        return this.requestBody(p.body, p.endOfStream);
      case 'response_headers':
        this.answered({ status: Number(p.headers.get(':status') ?? 0), service: p.headers.get(SERVICE_HEADER) ?? '' });
        if (p.endOfStream) this.finish(undefined);
        // A stream's answer comes chunk by chunk, and without a length when the processor takes its usage event out.
        if (!this.stream) return this.cacheKey ? CACHE_MISS_HEADERS() : plainContinue('response_headers');
        return streamedAnswer(this.stream.dropping);
      case 'response_body':
        if (p.facts && !this.status) this.answered(p.facts);
        return this.responseBody(p.body, p.endOfStream);
      case 'trailers':
        return plainContinue('response_trailers');
      case 'unreadable':
        throw new Error(p.reason);
    }
  }

  private requestHeaders(headers: ReadonlyMap<string, string>, authz: AuthzFacts | undefined): Buffer {
    this.startedAt = this.s.now();
    const path = headers.get(':path') ?? '';
    const q = path.indexOf('?');
    const bare = q < 0 ? path : path.slice(0, q);
    this.path = bare;
    ({ operation: this.operation, client: this.client } = callOf(bare));
    // What ext-authz established: its metadata, else its header (client copies are stripped).
    this.tenant = authz?.tenant ?? headers.get(this.s.tenantHeader) ?? '';
    this.logByPolicy = authz?.requestLog === true;
    this.requestId = headers.get('x-request-id') ?? '';
    this.cacheAllowed = headers.get(CACHE_HEADER) === 'allow';
    const granted: Priority = isPriority(authz?.priority) ? authz.priority : 'standard';
    const asked = headers.get(PRIORITY_HEADER);
    this.caller = { priority: isPriority(asked) ? lowerOf(granted, asked) : granted, tenant: this.tenant, weight: authz?.weight ?? 1 };
    return plainContinue('request_headers');
  }

  /** The answer's status and the service that gave it (with its first chunk, when its headers were not sent). */
  private answered(f: ResponseFacts): void {
    this.status = f.status;
    this.service = f.service;
  }

  /** The stream was cancelled: what the call holds is let go (it is not reported). */
  abandon(): void {
    this.unqueue?.();
    this.unqueue = undefined;
    this.release();
  }

  /** The instance the picker placed the call on has it no more. */
  private release(): void {
    if (this.placed) this.s.picker!.done(this.placed);
    this.placed = undefined;
  }

  /** Envoy ended the stream: a call whose answer had no body (so no chunk came) is reported now. */
  end(): void {
    if (!this.finished) this.finish(undefined);
  }

  private requestBody(body: Buffer, endOfStream: boolean): Buffer | Promise<Buffer> {
    // The filter buffers the whole body (BUFFERED): one message with end_of_stream.
    if (!endOfStream) return this.refuse({ status: 400, body: { error: { message: 'the request body arrived in parts; the gateway reads it whole', type: 'invalid_request_error', param: null, code: null } } });
    if (!this.operation) return this.refuse({ status: 404, body: { error: { message: 'this path is not a model API the gateway serves (chat/completions, completions, embeddings, messages, responses)', type: 'invalid_request_error', param: null, code: 'unknown_url' } } });
    const read = readModelRequest(body, { maxBytes: this.s.maxRequestBytes, models: this.table.names });
    if (!read.ok) return this.refuse(read.error);
    this.request = read.request;
    this.model = this.table.resolve(read.request.model);
    this.service_ = this.table.dialects.get(this.model) ?? 'openai';
    this.mixed = this.table.mixed.get(this.model);
    if (this.mixed) this.dialect = this.mixedRequest(read.request);
    else if (this.client !== 'openai' || this.service_ !== 'openai') {
      const d = dialectRequest(this.client, this.service_, this.operation, read.request.parsed, this.model);
      if (isApiError(d)) return this.refuseWith(d.status, apiErrorBody(this.client, d), d.code ?? 'invalid_request');
      this.dialect = d;
    }
    this.price = this.table.prices.get(this.model);
    const budget = this.reserve(body.length, read.request.parsed);
    if (read.request.stream && !this.dialect) this.stream = new StreamUsageReader(injectsStreamUsage(read.request), undefined, this.table.logged.size || this.logByPolicy ? this.s.logFieldBytes : 0);
    const routed = (cacheMiss = false): Buffer | Promise<Buffer> => {
      const answer = (p: Placement | undefined): Buffer => {
        this.unqueue = undefined;
        if (p?.kind === 'refused') return this.refusePool(p.why);
        this.placed = p?.kind === 'placed' ? p : undefined;
        // The body is written once, now that the call's place — and a server's priority for it — is known.
        const priority = p?.serverPriority;
        const dialect = this.dialect && priority !== undefined ? withPriority(this.dialect, priority) : this.dialect;
        const body = dialect ? dialect.body : forwardedBody(read.request, this.model, priority).body;
        return routedAnswer(this.table, read.request.model, this.model, body, cacheMiss, this.placed?.address, budget, dialect);
      };
      const placed = this.place();
      return placed instanceof Promise ? placed.then(answer) : answer(placed);
    };
    const cache = this.s.cache;
    if (!cache || !cacheable(this.operation, read.request.parsed, this.cacheAllowed)) return routed();
    // The model the service would get is in the key: an alias's answers are its models' own; and
    // the caller's dialect, the shape of what is kept.
    const key = cacheKey(this.tenant, this.operation, { ...read.request.parsed, model: this.model }, this.client);
    const found = cache.store.get(key);
    const decide = (hit: Buffer | undefined): Buffer | Promise<Buffer> => {
      cache.onLookup(hit !== undefined);
      if (!hit) {
        this.cacheKey = key;
        return routed(true);
      }
      this.status = 200;
      // Answered here: no budget filter saw the call, so it reserved nothing and costs nothing.
      this.reserved = undefined;
      this.price = undefined;
      this.finish(undefined);
      return encodeImmediate(200, hit, [[CACHE_HEADER, 'hit']], 'meshgate_llm_cache_hit', { model: this.model, cache: 'hit' });
    };
    return found instanceof Promise ? found.then(decide) : decide(found);
  }

  /**
   * The call's budget reservation, when budgets are in force: its id and what it reserves, and
   * what it is charged until its end says otherwise (its reservation).
   */
  private reserve(bodyBytes: number, parsed: Readonly<Record<string, unknown>>): Facts | undefined {
    const budgets = this.table.budgets;
    if (!budgets || !this.operation) return undefined;
    const r = (this.reserved = reservationOf(bodyBytes, parsed, this.operation, budgets.defaultMaxTokens, this.price));
    return {
      // Metadata a rate-limit descriptor reads must be a string.
      [BUDGET_METADATA.call]: randomBytes(12).toString('base64url'),
      [BUDGET_METADATA.reserveTokens]: r.tokens,
      [BUDGET_METADATA.chargeTokens]: r.tokens,
      ...(r.costMicros !== undefined ? { [BUDGET_METADATA.reserveCost]: r.costMicros, [BUDGET_METADATA.chargeCost]: r.costMicros } : {}),
    };
  }

  /** Where the picker places this call, when its model's calls are placed (a promise while it waits for room). */
  private place(): Placement | Promise<Placement> | undefined {
    const picker = this.s.picker;
    if (!picker || !this.request || !this.table.picked.has(this.model)) return undefined;
    return picker.place(this.model, this.promptText(), this.caller, (cancel) => {
      this.unqueue = cancel;
      this.onQueued();
    }, this.table.prioritized.has(this.model));
  }

  /**
   * A call of a model whose services speak different dialects: each attempt is written upstream
   * in its service's (the upstream stage). Here the caller's body goes on — an alias resolved; an
   * OpenAI caller's stream asks for usage, as for any OpenAI-style service — with its path for
   * the upstream stage.
   */
  private mixedRequest(r: ModelRequest): DialectRequest {
    const on = passedOn(this.client, 'openai', r.parsed, this.model);
    let body = on.body;
    if (this.client === 'openai') {
      const f = forwardedBody(r, this.model);
      body = f.body;
      this.injected = f.injected;
    }
    return { ...on, body, setHeaders: [[CLIENT_PATH_HEADER, this.path], ...(body ? [['content-length', String(body.length)] as const] : [])] };
  }

  /** What the caller asked, as text (the picker's prefix, the request log). */
  private promptText(): string {
    const neutral = this.dialect?.neutral();
    return neutral ? conversationText(neutral) : promptOf(this.request?.parsed ?? {});
  }

  /** A saturated pool's refusal, in the caller's error shape, with Retry-After (the SDKs wait that long and try again). */
  private refusePool(why: string): Buffer {
    this.finished = true;
    const code = 'model_pool_saturated';
    this.onRefused(code);
    const message =
      why === 'sheddable'
        ? `every instance serving \`${this.model}\` is saturated, and this call is sheddable; try again later`
        : why === 'waited_too_long'
          ? `every instance serving \`${this.model}\` stayed saturated for as long as a call may wait; try again later`
          : `every instance serving \`${this.model}\` is saturated and its queue is full; try again later`;
    const body = { error: { message, type: 'rate_limit_error', param: null, code } };
    return encodeImmediate(429, errorInDialect(this.client, 429, body), [['retry-after', String(POOL_RETRY_AFTER_SECONDS)]], `meshgate_llm_${code}`);
  }

  private refuse(error: OpenAiError): Buffer {
    return this.refuseWith(error.status, errorInDialect(this.client, error.status, error.body), error.body.error.code ?? 'invalid_request');
  }

  private refuseWith(status: number, body: Buffer, code: string): Buffer {
    this.finished = true;
    this.onRefused(code);
    return encodeImmediate(status, body, [], `meshgate_llm_${code}`);
  }

  private responseBody(chunk: Buffer, endOfStream: boolean): Buffer {
    if (this.firstChunkAt === undefined && chunk.length) this.firstChunkAt = this.s.now();
    if (this.dialect) return this.translatedBody(chunk, endOfStream);
    if (this.stream) {
      const out = this.stream.push(chunk);
      const tail = endOfStream ? this.stream.end() : undefined;
      const metadata = endOfStream ? this.finish(this.stream.result()) : undefined;
      if (!this.stream.dropping) return metadata ? encodeContinue('response_body', { metadata }) : plainContinue('response_body');
      const body = tail?.length ? Buffer.concat([out, tail]) : out;
      return encodeContinue('response_body', { body, ...(metadata ? { metadata } : {}) });
    }
    if (this.jsonBytes + chunk.length <= this.s.maxResponseBytes) {
      this.jsonChunks.push(chunk);
      this.jsonBytes += chunk.length;
    } else this.jsonChunks = [];
    if (!endOfStream) return plainContinue('response_body');
    const whole = this.jsonChunks.length === 1 ? this.jsonChunks[0]! : Buffer.concat(this.jsonChunks);
    this.jsonChunks = [];
    if (!whole.length) return encodeContinue('response_body', { metadata: this.finish(undefined) });
    if (this.cacheKey && this.status === 200 && whole.length <= this.s.cache!.maxEntryBytes) this.s.cache!.store.set(this.cacheKey, whole);
    // The usage alone unless the request log wants the answer too: a large answer is not parsed whole.
    if (!this.logged()) return encodeContinue('response_body', { metadata: this.finish(usageOfAnswerTail(whole)) });
    const answer = parseAnswer(whole);
    return encodeContinue('response_body', { metadata: this.finish(usageOf(answer), answer) });
  }

  /**
   * A chunk of the answer to a call in another dialect than OpenAI's on either side: read in the
   * service's dialect, written in the caller's (a stream event by event as they complete).
   */
  private translatedBody(chunk: Buffer, endOfStream: boolean): Buffer {
    if (this.mixed && !this.translator) {
      // The service that answered says which dialect its answer is in.
      this.service_ = this.mixed.get(this.service) ?? 'openai';
      if (this.client === 'openai' && this.service_ === 'openai') {
        // OpenAI's on both sides: read as any OpenAI-style answer is.
        this.dialect = undefined;
        if (this.request?.stream) this.stream = new StreamUsageReader(this.injected, undefined, this.logged() ? this.s.logFieldBytes : 0);
        return this.responseBody(chunk, endOfStream);
      }
    }
    const t = (this.translator ??= new AnswerTranslator({
      from: SERVICES[this.service_],
      to: CLIENTS[this.client],
      stream: this.request?.stream === true,
      streamUsage: this.dialect!.streamUsage,
      status: this.status,
      maxBytes: this.s.maxResponseBytes,
      collectBytes: this.logged() ? this.s.logFieldBytes : 0,
      created: Math.floor(this.s.now() / 1000),
      countTokens: this.operation === 'count_tokens',
    }));
    const out = t.push(chunk);
    if (!endOfStream) return t.rewrites ? encodeContinue('response_body', { body: out }) : plainContinue('response_body');
    const tail = t.end();
    const body = tail.length ? Buffer.concat([out, tail]) : out;
    if (this.cacheKey && this.status === 200 && t.whole && t.whole.length <= this.s.cache!.maxEntryBytes) this.s.cache!.store.set(this.cacheKey, t.whole);
    const metadata = this.finish(tokenUsage(t.result()), undefined, t.answer ? answerText(t.answer) : t.text());
    return t.rewrites ? encodeContinue('response_body', { body, metadata }) : encodeContinue('response_body', { metadata });
  }

  /** The request log takes this call: its service or its caller's policy asked for it. */
  private logged(): boolean {
    return this.logByPolicy || this.table.logged.has(this.service);
  }

  /** The call is over: report it once; the metadata Envoy keeps of it. */
  private finish(usage: Usage | undefined, answer?: unknown, answered?: string): Record<string, Facts> {
    const metadata: Facts = { [MODEL_METADATA_KEY]: this.model, [REQUESTED_MODEL_METADATA_KEY]: this.request?.model ?? '', service: this.service };
    if (usage) {
      metadata[USAGE_METADATA_KEYS.prompt] = usage.promptTokens;
      metadata[USAGE_METADATA_KEYS.completion] = usage.completionTokens;
      metadata[USAGE_METADATA_KEYS.total] = usage.totalTokens;
    }
    // What the budgets settle at (when the call reserved), and what it cost (a priced model).
    const charged = chargeOf(usage, this.status, this.reserved, this.price);
    if (charged && this.reserved) {
      metadata[BUDGET_METADATA.chargeTokens] = charged.tokens;
      if (charged.costMicros !== undefined) metadata[BUDGET_METADATA.chargeCost] = charged.costMicros;
    }
    if (charged?.costMicros !== undefined) metadata[BUDGET_METADATA.cost] = charged.costMicros / 1e6;
    this.release();
    if (!this.finished && this.operation && this.request) {
      this.finished = true;
      const record: CallRecord = {
        operation: this.operation,
        clientDialect: this.client,
        serviceDialect: this.service_,
        model: this.model,
        requestedModel: this.request.model,
        service: this.service,
        tenant: this.tenant,
        usage,
        requestId: this.requestId,
        status: this.status,
        durationSeconds: (this.s.now() - this.startedAt) / 1000,
        ...(charged?.costMicros !== undefined ? { costMicros: charged.costMicros } : {}),
        ...(this.stream && this.firstChunkAt !== undefined ? { timeToFirstTokenSeconds: (this.firstChunkAt - this.startedAt) / 1000 } : {}),
      };
      if (this.logged()) this.onLog({ ...record, prompt: this.promptText(), completion: answered ?? (this.stream ? this.stream.text() : completionOf(answer)) });
      this.onDone(record);
    }
    return { [LLM_METADATA_NAMESPACE]: metadata };
  }
}

/** Tokens as the neutral form counts them, as the gateway reports them. */
function tokenUsage(u: TokenUsage | undefined): Usage | undefined {
  return u && { promptTokens: u.input, completionTokens: u.output, totalTokens: u.input + u.output };
}
