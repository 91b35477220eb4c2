// What the gateway's model routes (xds-server) and the LLM processor (ext-proc) agree on: the
// dynamic metadata the processor routes by and files the tokens under, the header a model
// route answers with, and the gRPC metadata that carries the model table.
/** Set by the processor for the service to see which model it is asked for (informative: routes match the metadata). */
export const MODEL_HEADER = 'x-meshgate-model';
/** Added by a model route to its answer: the service whose instance answered. */
export const SERVICE_HEADER = 'x-meshgate-service';
/** gRPC initial metadata on every ext_proc stream: the model table (JSON). */
export const MODEL_TABLE_HEADER = 'x-meshgate-model-table';
/**
 * Envoy dynamic metadata namespace of the processor's facts: `model` (set with the request body;
 * the model routes match it — no client can set dynamic metadata, where a header set by a
 * client would already have picked a route before any filter could strip it), then the tokens.
 */
export const LLM_METADATA_NAMESPACE = 'meshgate.llm';
/**
 * The processor's own answers (errors in the dialect's shape, which its clients read) are marked
 * in that namespace — key ANSWER_METADATA_KEY, value OPENAI_ANSWER — so that the gateway's local
 * reply mapping passes them on as they are instead of rewriting them into its own JSON error.
 */
export const ANSWER_METADATA_KEY = 'answer';
export const OPENAI_ANSWER = 'openai';
/** The key of the model a request goes to, in that namespace. */
export const MODEL_METADATA_KEY = 'model';
/** The model the caller named (an alias, say), filed by the processor with every call it routes. */
export const REQUESTED_MODEL_METADATA_KEY = 'requested_model';
/** An answer's usage in that namespace, under OpenAI's own names for its fields (the processor's and, for direct calls, Envoy's reading). */
export const USAGE_METADATA_KEYS = { prompt: 'prompt_tokens', completion: 'completion_tokens', total: 'total_tokens' } as const;
/** The cache's header: a request's `allow` lets a sampled call be reused; an answer's says `hit` or `miss`. */
export const CACHE_HEADER = 'x-meshgate-cache';
/** The processor's cache verdict in its metadata (LLM_METADATA_NAMESPACE), which a model route answers with in CACHE_HEADER: `miss` (a hit is the processor's own answer). */
export const CACHE_METADATA_KEY = 'cache';
/** The endpoint metadata (namespace `meshgate`) key of the service an instance belongs to. */
export const HOST_SERVICE_METADATA_KEY = 'service';

/** The ext_proc attribute (a CEL expression Envoy evaluates) of one key of the picked instance's endpoint metadata. */
function hostMetadataAttribute(key: string): string {
  return `xds.upstream_host_metadata.filter_metadata['meshgate']['${key}']`;
}

/**
 * What the processor reads of an answer without a round trip for its headers: Envoy sends these
 * attributes (CEL expressions it evaluates) with the answer's first chunk. (The request's headers
 * are still sent: Envoy holds them back from routing only while their own message is out, and
 * the route is chosen by what the processor reads in the body.)
 */
export const RESPONSE_ATTRIBUTES = { status: 'response.code', service: hostMetadataAttribute(HOST_SERVICE_METADATA_KEY) } as const;

/**
 * The model API dialects a model service speaks (service meta `model-dialect`, or per service in
 * a model-route entry): OpenAI's Chat Completions, Anthropic's Messages, Ollama's chat. And
 * those a caller speaks at the gateway, by the path it calls: Chat Completions, Messages,
 * OpenAI's Responses (stateless). The
 * processor translates between them (ext-proc/dialects/).
 */
export const DIALECTS = ['openai', 'anthropic', 'ollama'] as const;
export type Dialect = (typeof DIALECTS)[number];
export type ClientDialect = 'openai' | 'anthropic' | 'openai-responses';

/** The model API paths the processor reads, and the operation of each (gen_ai.operation.name). */
export const LLM_OPERATIONS = {
  '/v1/chat/completions': 'chat',
  '/v1/messages': 'chat',
  '/v1/messages/count_tokens': 'count_tokens',
  '/v1/responses': 'chat',
  '/v1/completions': 'text_completion',
  '/v1/embeddings': 'embeddings',
} as const;
export type LlmOperation = (typeof LLM_OPERATIONS)[keyof typeof LLM_OPERATIONS];
export const LLM_PATHS = Object.keys(LLM_OPERATIONS) as ReadonlyArray<keyof typeof LLM_OPERATIONS>;
/** The dialect a client speaks, by the path it calls (the rest: OpenAI's). */
export const CLIENT_DIALECT_OF_PATH: Readonly<Record<string, ClientDialect>> = { '/v1/messages': 'anthropic', '/v1/messages/count_tokens': 'anthropic', '/v1/responses': 'openai-responses' };

/** How a model server schedules the calls waiting for its slots (vLLM's `--scheduling-policy`). */
export const MODEL_SCHEDULING = ['fcfs', 'priority'] as const;
export type ModelScheduling = (typeof MODEL_SCHEDULING)[number];

/** The model table's wire form: the models, and each alias's weighted models. */
export interface ModelTableWire {
  readonly models: readonly string[];
  readonly aliases: Readonly<Record<string, ReadonlyArray<readonly [string, number]>>>;
  /** Services whose calls go to the request log (prompt and completion), opt-in. */
  readonly logged?: readonly string[];
  /** Models whose calls the processor's endpoint picker places (their clusters take its choice). */
  readonly picked?: readonly string[];
  /**
   * Picked models whose servers schedule by each call's `priority` and preempt (vLLM's
   * `--scheduling-policy priority`): the processor writes it into the body.
   */
  readonly prioritized?: readonly string[];
  /** Prices per model: [input, output] in currency units per million tokens. */
  readonly prices?: Readonly<Record<string, readonly [number, number]>>;
  /** Budgets in force: each call reserves before it goes, settles when it ends (BUDGET_METADATA). */
  readonly budgets?: { readonly defaultMaxTokens: number };
  /** The dialect of each model whose services all speak one other than OpenAI's. */
  readonly dialects?: Readonly<Record<string, Dialect>>;
  /** Each service's dialect, for the models whose services speak different ones. */
  readonly mixed?: Readonly<Record<string, Readonly<Record<string, Dialect>>>>;
}

/**
 * What the processor files in LLM_METADATA_NAMESPACE for budgets: the call's id (the budget
 * descriptors' reservation and settlement name it), what it reserves with the request — tokens:
 * the body's bytes (no token is shorter than a byte) plus max_tokens or the default; cost: those
 * at the model's price — and what it is charged when it ends (the reservation until then, so a
 * call whose end is never seen stays charged what it reserved). Cost in micro-units of the
 * currency (integers, as counters are); `cost` in whole units, for the access log.
 */
/**
 * The last entry of a budget descriptor that makes it a reservation or its settlement, its value
 * the call id (the gateway's budget filter sends them; ratelimit-service reads them).
 */
export const BUDGET_ENTRY = { reserve: 'meshgate_reserve', settle: 'meshgate_settle' } as const;

export const BUDGET_METADATA = {
  call: 'budget_call',
  reserveTokens: 'reserve_tokens',
  chargeTokens: 'charge_tokens',
  reserveCost: 'reserve_cost_micros',
  chargeCost: 'charge_cost_micros',
  cost: 'cost',
} as const;

/**
 * A caller may lower its own priority in a saturated model pool (`sheddable`, `standard`), never
 * raise it past what its ext-authz policy grants (`model_priority`).
 */
export const PRIORITY_HEADER = 'x-meshgate-priority';

/**
 * How long the gateway's ext_proc filter lets the processor extend its wait for one answer
 * (max_message_timeout): a call queued for a saturated model pool waits up to the processor's
 * --queue-max-wait, which must stay under this.
 */
export const MAX_MESSAGE_TIMEOUT_SECONDS = 60;

/** The endpoint the picker chose for a call ("ip:port"), in LLM_METADATA_NAMESPACE: the model cluster's override-host policy reads it. */
export const ENDPOINT_METADATA_KEY = 'endpoint';

/**
 * A provider that knows a model by another name (a model-route's `Services: [{Service, Model}]`)
 * gets the body with that name, rewritten per attempt where Envoy has picked the instance: by an
 * ext_proc filter among the model cluster's upstream filters, on streams marked by this gRPC
 * metadata. The attempt's own body is sent (Envoy keeps it for retries), so the stage holds no
 * state of the call and any instance of the processor can serve it.
 */
export const UPSTREAM_STREAM_HEADER = 'x-meshgate-ext-proc-stage';
export const UPSTREAM_STREAM_VALUE = 'upstream';
/** The name the chosen instance's service knows the model by: its endpoint metadata, sent as an ext_proc attribute. */
export const HOST_MODEL_METADATA_KEY = 'model';
export const HOST_MODEL_ATTRIBUTE = hostMetadataAttribute(HOST_MODEL_METADATA_KEY);
/**
 * A model whose services speak different dialects: each endpoint says its service's, and the
 * upstream stage writes each attempt's body in it — from the caller's request, whose path the
 * gateway's stage files in CLIENT_PATH_HEADER (an attempt may change :path, and Envoy keeps the
 * changed headers for the next attempt, the body as the caller sent it).
 */
export const HOST_DIALECT_METADATA_KEY = 'dialect';
export const HOST_DIALECT_ATTRIBUTE = hostMetadataAttribute(HOST_DIALECT_METADATA_KEY);
export const CLIENT_PATH_HEADER = 'x-meshgate-client-path';

/**
 * Direct calls: a model whose calls need nothing of the processor (resolve/models.ts decides
 * which) is routed by Envoy itself — its json_to_metadata filter files the body's `model` and
 * `stream` in this namespace, and a direct route per model matches them — so a plain JSON call
 * costs no ext_proc round trip. The answer's usage is filed in LLM_METADATA_NAMESPACE the same way
 * (prompt_tokens, completion_tokens, total_tokens), and the gateway's access log for such calls
 * goes to the processor (its gRPC access-log service), which counts them in its metrics as it
 * counts the calls it processes.
 */
export const DIRECT_METADATA_NAMESPACE = 'meshgate.llm.direct';
export const DIRECT_KEYS = { model: 'model', stream: 'stream' } as const;
/** The model API paths a direct call may take: those of OpenAI's dialect (every other needs translating). */
export const DIRECT_PATHS = LLM_PATHS.filter((p) => !(p in CLIENT_DIALECT_OF_PATH));
export const isDirectPath = (path: string): boolean => (DIRECT_PATHS as readonly string[]).includes(path);
/** The direct routes' names: this, the model, the path. */
export const DIRECT_ROUTE_PREFIX = 'direct:';
/** The access-log name of the direct calls' entries (the processor's access-log service reads only these). */
export const DIRECT_LOG_NAME = 'meshgate-direct-calls';

/**
 * The headers the processor reads, and the only ones the gateway's ext_proc filters send it
 * (forward_rules): every other header of a call would be encoded by Envoy and decoded by the
 * processor for nothing (a browser's dozen cost the processor ten times what these do). The
 * gateway's stage reads the call's path, its request id, what it asks of the cache and of its
 * priority, and — when ext-authz's metadata is not there — the tenant among the identity headers
 * (the gateway adds those); on an answer, its status and the service. The upstream stage reads
 * the caller's path as the gateway's stage filed it.
 */
export const PROCESSOR_HEADERS = [':path', 'x-request-id', CACHE_HEADER, PRIORITY_HEADER, ':status', SERVICE_HEADER] as const;
export const UPSTREAM_STAGE_HEADERS = [CLIENT_PATH_HEADER] as const;
