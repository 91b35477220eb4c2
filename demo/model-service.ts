// A demo model service: OpenAI-compatible chat completions and embeddings plus GET /test, that
// registers itself in Consul with an HTTP health check and deregisters when it stops (or, with
// --registry zookeeper|eureka, in that registry as its own clients do: demo/registration/).
//
//   node dist/demo/model-service.js --service llm-chat --id llm-chat-1 \
//        --consul 127.0.0.1:8500 --meta gateway-path=/v1/,/test
//
// GET /test?msg=hello                echo: msg, path, instance, service, the request headers
//       [&delay_ms=N] [&status=N]    answer late or with another status (for timeout tests)
//                                    (any other GET path echoes the same way, and so does a POST
//                                    outside /v1/)
// POST /v1/chat/completions          deterministic reply with a usage block (stream: true → SSE,
//                                    the usage chunk only with stream_options.include_usage, as
//                                    OpenAI does; header x-demo-pace-ms: N waits N ms between chunks);
//                                    OpenAI's whole message schema (content parts, tool calls and
//                                    results); a forced tool_choice is answered with a tool call
// POST /v1/embeddings                deterministic vectors
// GET /v1/models
// GET /health                        the Consul check; PUT /_demo/health?healthy=false fails it
//                                    (ZooKeeper, Eureka: takes the instance out of service there)
// PUT /_demo/meta?key=value          changes its registered metadata (ZooKeeper, Eureka)
// PUT /_demo/fail?status=503         every echo and model call answers 503 while the health check stays green
//                                    (an instance only outlier detection can catch); no status: heal
// GET /call/<service>/<path>?…       calls <service> by name through this instance's sidecar
//                                    (--sidecar-outbound PORT) and answers what came back
// --slots N --work-ms M              a service sized to run hot (a model server's batch slots, say):
//                                    at most N model calls worked on at once, each for M ms before
//                                    its answer; the rest wait in this server's own queue, unbounded,
//                                    as a real server's would (the gateway's limits must bound it)
// --sim [--sim-slots N] [--sim-block-tokens N] [--sim-kv-blocks N] [--sim-prefill-ms-per-token X]
//       [--sim-decode-ms-per-token X] [--sim-max-waiting N] [--sim-scheduling-policy fcfs|priority]
//                                    a simulated GPU server (demo/gpu-sim.ts): batch slots, a waiting
//                                    queue, prefill of the prompt's uncached blocks, a prefix cache,
//                                    output paced per token, vLLM's metrics on GET /metrics; usage
//                                    says prompt_tokens_details.cached_tokens, as vLLM's does; with
//                                    the priority policy a call's `priority` (lower first) preempts
//                                    running calls of a worse one, as vLLM's does (else it must be 0)
// --meta model-dialect=anthropic     the service speaks Anthropic's Messages API instead
//                                    (demo/anthropic.ts): POST /v1/messages (the anthropic-version
//                                    header required; streams paced by x-demo-pace-ms too),
//                                    /v1/messages/count_tokens; no /v1/chat/completions
// --meta model-dialect=ollama        the service speaks Ollama's chat API instead (demo/ollama.ts):
//                                    POST /api/chat (newline-delimited JSON streams, paced too)
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { instanceFlags } from './instance-flags.js';
import { GpuSimulator, PriorityNotEnabledError, promptTokens, ServerBusyError, SIM_DEFAULTS, type SchedulingPolicy, type SimOptions } from './gpu-sim.js';
import { anthropicError, inputTokens, messagesAnswer, messagesRequestProblem, messagesStream, type AnthropicError } from './anthropic.js';
import { ollamaAnswer, ollamaChatProblem, ollamaStreamLines } from './ollama.js';
import { chatAnswer, chatCompletion, chatRequestProblem, embedding, type ChatRequest } from './openai.js';

const flags = instanceFlags('llm-chat', {
  // The outbound port of this instance's sidecar Envoy: GET /call/<service>/<path> goes there.
  'sidecar-outbound': { type: 'string' },
  slots: { type: 'string' },
  'work-ms': { type: 'string' },
  sim: { type: 'boolean', default: false },
  'sim-slots': { type: 'string' },
  'sim-block-tokens': { type: 'string' },
  'sim-kv-blocks': { type: 'string' },
  'sim-prefill-ms-per-token': { type: 'string' },
  'sim-decode-ms-per-token': { type: 'string' },
  'sim-max-waiting': { type: 'string' },
  'sim-scheduling-policy': { type: 'string' },
});
const { service, instance } = flags;
const sidecarOutbound = flags.values['sidecar-outbound'] ? Number(flags.values['sidecar-outbound']) : undefined;
const slots = flags.values['slots'] ? Number(flags.values['slots']) : Infinity;
const workMs = Number(flags.values['work-ms'] ?? 0);
let busySlots = 0;
const waiting: Array<() => void> = [];

/** Runs `work` in one of the slots, after `workMs`: a call waits for a free slot first. */
async function inSlot<T>(work: () => T | Promise<T>): Promise<T> {
  if (busySlots >= slots) await new Promise<void>((r) => waiting.push(r));
  else busySlots += 1;
  try {
    if (workMs > 0) await new Promise((r) => setTimeout(r, workMs));
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else busySlots -= 1;
  }
}

/** A flag's number, or the default; a flag that is not a non-negative number stops the service. */
function simNumber(name: Exclude<keyof SimOptions, 'schedulingPolicy'>, flag: string): number {
  const text = flags.values[flag] as string | undefined;
  if (text === undefined) return SIM_DEFAULTS[name];
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} ${text}: not a non-negative number`);
  return n;
}
/** vLLM's --scheduling-policy: fcfs (the default) or priority. */
function simPolicy(): SchedulingPolicy {
  const text = (flags.values['sim-scheduling-policy'] as string | undefined) ?? SIM_DEFAULTS.schedulingPolicy;
  if (text !== 'fcfs' && text !== 'priority') throw new Error(`--sim-scheduling-policy ${text}: fcfs or priority`);
  return text;
}
const sim = flags.values['sim']
  ? new GpuSimulator({
      slots: Math.max(1, simNumber('slots', 'sim-slots')),
      blockTokens: Math.max(1, simNumber('blockTokens', 'sim-block-tokens')),
      kvBlocks: Math.max(1, simNumber('kvBlocks', 'sim-kv-blocks')),
      prefillMsPerToken: simNumber('prefillMsPerToken', 'sim-prefill-ms-per-token'),
      decodeMsPerToken: simNumber('decodeMsPerToken', 'sim-decode-ms-per-token'),
      maxWaiting: simNumber('maxWaiting', 'sim-max-waiting'),
      schedulingPolicy: simPolicy(),
    })
  : undefined;

/** The events of a streamed answer, as OpenAI writes them: its id and model, then what it carries. */
function chunkOf(full: Record<string, unknown>): (choices: unknown[], extra?: Record<string, unknown>) => string {
  return (choices, extra = {}) => `data: ${JSON.stringify({ id: full['id'], object: 'chat.completion.chunk', model: full['model'], system_fingerprint: instance, choices, ...extra })}\n\n`;
}

/** The model the simulator's metrics are labelled with: the first it serves. */
const SIM_MODEL = flags.meta['models']?.split(',')[0] ?? 'meshgate-demo';

/** A chat call on the simulated GPU: a JSON answer when its last token is out, or a stream paced per token. */
async function simulatedChat(gpu: GpuSimulator, res: http.ServerResponse, request: ChatRequest): Promise<void> {
  const full = chatCompletion(request, instance);
  const words = (chatAnswer(request).content ?? '').split(' ').filter(Boolean);
  const maxTokens = Number((request as { max_tokens?: unknown }).max_tokens);
  const output = Number.isInteger(maxTokens) && maxTokens > 0 ? Math.min(maxTokens, Math.max(1, words.length)) : Math.max(1, words.length);
  const priority = (request as { priority?: unknown }).priority ?? 0;
  if (!Number.isInteger(priority)) return openAiError(res, 400, `priority: an integer, not ${JSON.stringify(priority)}`);
  const call = { promptTokens: promptTokens(request), outputTokens: output, priority: priority as number };
  // The caller left: its connection closed before the answer ended (a request is destroyed once read, so not that).
  let left = false;
  res.on('close', () => (left = !res.writableFinished));
  const gone = (): boolean => left;
  const usage = (cached: number): Record<string, unknown> => ({
    prompt_tokens: call.promptTokens.length,
    completion_tokens: output,
    total_tokens: call.promptTokens.length + output,
    prompt_tokens_details: { cached_tokens: cached },
  });
  try {
    if (!request.stream) {
      const outcome = await gpu.run(call, () => undefined, gone);
      return send(res, 200, { ...full, usage: usage(outcome.cachedTokens) });
    }
    const chunk = chunkOf(full);
    const outcome = await gpu.run(call, (i, first) => {
      // How long the call waited for a slot here, and its time to first token here (the gateway's share is the rest).
      if (i === 0) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-meshgate-instance': instance, 'x-sim-queued-ms': first.queuedMs.toFixed(1), 'x-sim-ttft-ms': first.ttftMs.toFixed(1) });
      res.write(chunk([{ index: 0, delta: { ...(i === 0 ? { role: 'assistant' } : {}), content: (i ? ' ' : '') + (words[i] ?? '') }, finish_reason: null }]));
    }, gone);
    if (gone()) return;
    res.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
    if (request.stream_options?.include_usage) res.write(chunk([], { usage: usage(outcome.cachedTokens) }));
    res.end('data: [DONE]\n\n');
  } catch (err) {
    if (err instanceof ServerBusyError) return openAiError(res, 503, `${instance} is overloaded: ${err.message}`);
    if (err instanceof PriorityNotEnabledError) return openAiError(res, 400, err.message);
    throw err;
  }
}

let healthy = true;
/** While set, every echo answers with this status (the health check stays green): a sick instance. */
let failStatus: number | undefined;


function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'x-meshgate-instance': instance, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function openAiError(res: http.ServerResponse, status: number, message: string): void {
  send(res, status, { error: { message, type: 'invalid_request_error', code: null } });
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 4 << 20) throw new Error('body larger than 4 MiB');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString() || 'null');
}

/** How long a stream waits between chunks (at most 2 s): the request's x-demo-pace-ms header. */
function paceOf(req: http.IncomingMessage): number {
  const ms = Number(req.headers['x-demo-pace-ms'] ?? 0);
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, 2_000) : 0;
}

/** As OpenAI streams: content chunks, the finish chunk, a usage-only chunk when asked for, [DONE]. */
async function streamChat(res: http.ServerResponse, request: ChatRequest, paceMs: number): Promise<void> {
  const full = chatCompletion(request, instance);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-meshgate-instance': instance });
  const chunk = chunkOf(full);
  const answer = chatAnswer(request);
  if (answer.toolCalls) {
    // As OpenAI streams a tool call: its id and name first, then its arguments.
    const first = answer.toolCalls.map((c, index) => ({ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } }));
    res.write(chunk([{ index: 0, delta: { role: 'assistant', content: null, tool_calls: first }, finish_reason: null }]));
    const args = answer.toolCalls.map((c, index) => ({ index, function: { arguments: c.function.arguments } }));
    res.write(chunk([{ index: 0, delta: { tool_calls: args }, finish_reason: null }]));
  }
  const words = answer.content === null ? [] : answer.content.split(' ');
  for (const [i, word] of words.entries()) {
    if (paceMs && i) await new Promise((r) => setTimeout(r, paceMs));
    if (res.destroyed) return;
    res.write(chunk([{ index: 0, delta: { ...(i === 0 ? { role: 'assistant' } : {}), content: (i ? ' ' : '') + word }, finish_reason: null }]));
  }
  res.write(chunk([{ index: 0, delta: {}, finish_reason: answer.toolCalls ? 'tool_calls' : 'stop' }]));
  if (request.stream_options?.include_usage) res.write(chunk([], { usage: full['usage'] }));
  res.end('data: [DONE]\n\n');
}

/** Headers an app forwards to its upstreams (request identity, hashing keys). */
const FORWARDED = /^(x-request-id|x-user|x-session|x-canary|x-tenant)$/;

async function callThroughSidecar(req: http.IncomingMessage, url: URL, res: http.ServerResponse): Promise<void> {
  if (!sidecarOutbound) return send(res, 501, { error: 'no sidecar: start with --sidecar-outbound PORT', instance });
  const [, , target, ...rest] = url.pathname.split('/');
  const headers: Record<string, string> = { host: target! };
  for (const [k, v] of Object.entries(req.headers)) if (FORWARDED.test(k) && typeof v === 'string') headers[k] = v;
  const upstream = await getVia(sidecarOutbound, `/${rest.join('/')}${url.search}`, headers);
  const text = upstream.text;
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: pass the text on
  }
  send(res, 200, { caller: instance, status: upstream.status, upstream_instance: upstream.headers['x-meshgate-instance'] ?? null, body });
}

/** A GET to the sidecar with our own Host header (fetch would replace it). */
function getVia(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('upstream timed out')));
    req.on('error', reject);
  });
}

/** The dialect this service speaks: what it registers as (meta model-dialect). */
const ANTHROPIC = flags.meta['model-dialect'] === 'anthropic';
const OLLAMA = flags.meta['model-dialect'] === 'ollama';

/** POST /api/chat, as Ollama's API reference has it. */
async function ollamaChat(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  let body: unknown;
  try {
    body = await readJson(req);
  } catch (err) {
    return send(res, 400, { error: `invalid JSON body: ${(err as Error).message}` });
  }
  const problem = ollamaChatProblem(body);
  if (problem) return send(res, 400, { error: problem });
  const request = body as Record<string, unknown>;
  const served = (flags.meta['models'] ?? '').split(',');
  if (!served.includes(String(request['model']))) return send(res, 404, { error: `model '${String(request['model'])}' not found` });
  if (failStatus) return send(res, failStatus, { error: `${instance} is failing (${failStatus})` });
  const answer = ollamaAnswer(request);
  const createdAt = new Date().toISOString();
  if (request['stream'] === false) {
    return inSlot(() => send(res, 200, { model: request['model'], created_at: createdAt, message: answer.message, done: true, done_reason: answer.doneReason, total_duration: 1000, prompt_eval_count: answer.promptTokens, eval_count: answer.outputTokens }));
  }
  const pace = paceOf(req);
  return inSlot(async () => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-meshgate-instance': instance });
    for (const [i, line] of ollamaStreamLines(String(request['model']), answer, createdAt).entries()) {
      if (pace && i) await new Promise((r) => setTimeout(r, pace));
      if (res.destroyed) return;
      res.write(line);
    }
    res.end();
  });
}

function sendAnthropicError(res: http.ServerResponse, e: AnthropicError): void {
  send(res, e.status, e.body);
}

/** POST /v1/messages and /v1/messages/count_tokens, as Anthropic's API reference has them. */
async function anthropicMessages(req: http.IncomingMessage, res: http.ServerResponse, countOnly: boolean): Promise<void> {
  if (!req.headers['anthropic-version']) return sendAnthropicError(res, anthropicError(400, 'invalid_request_error', 'anthropic-version: header is required'));
  let body: unknown;
  try {
    body = await readJson(req);
  } catch (err) {
    return sendAnthropicError(res, anthropicError(400, 'invalid_request_error', `invalid JSON body: ${(err as Error).message}`));
  }
  const problem = messagesRequestProblem(countOnly ? { max_tokens: 1, ...(body as object) } : body);
  if (problem) return sendAnthropicError(res, anthropicError(400, 'invalid_request_error', problem));
  const request = body as Record<string, unknown>;
  if (countOnly) return send(res, 200, { input_tokens: inputTokens(request) });
  if (failStatus) return sendAnthropicError(res, anthropicError(failStatus, failStatus === 529 || failStatus === 503 ? 'overloaded_error' : 'api_error', `${instance} is failing (${failStatus})`));
  const answer = messagesAnswer(request);
  if (request['stream'] !== true) return inSlot(() => send(res, 200, answer));
  const pace = paceOf(req);
  return inSlot(async () => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-meshgate-instance': instance });
    for (const [i, e] of messagesStream(answer).entries()) {
      if (pace && i > 2) await new Promise((r) => setTimeout(r, pace));
      if (res.destroyed) return;
      res.write(e);
    }
    res.end();
  });
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  const route = `${req.method} ${url.pathname}`;
  if (route === 'GET /health') return send(res, healthy ? 200 : 503, { status: healthy ? 'ok' : 'failing', instance });
  if (route === 'PUT /_demo/health') {
    healthy = url.searchParams.get('healthy') !== 'false';
    await flags.setHealthy(healthy);
    return send(res, 200, { healthy, instance });
  }
  if (route === 'PUT /_demo/meta') {
    const changes = Object.fromEntries(url.searchParams);
    await flags.setMeta(changes);
    return send(res, 200, { meta: changes, instance });
  }
  if (route === 'PUT /_demo/fail') {
    const status = Number(url.searchParams.get('status'));
    failStatus = status >= 400 && status < 600 ? status : undefined;
    return send(res, 200, { fail_status: failStatus ?? null, instance });
  }
  if (req.method === 'GET' && url.pathname.startsWith('/call/')) return callThroughSidecar(req, url, res);
  if (route === 'GET /metrics' && sim) {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    return void res.end(sim.metricsText(SIM_MODEL));
  }
  if (route === 'GET /v1/models') {
    return send(res, 200, { object: 'list', data: [{ id: 'meshgate-demo', object: 'model', owned_by: 'meshgate' }] });
  }
  if (req.method === 'GET') return echo(req, url, res);
  if (OLLAMA) {
    if (route === 'POST /api/chat') return ollamaChat(req, res);
    if (url.pathname.startsWith('/v1/') || url.pathname.startsWith('/api/')) return send(res, 404, { error: `no such endpoint: ${route} (this service speaks Ollama's API)` });
  }
  if (ANTHROPIC) {
    if (route === 'POST /v1/messages' || route === 'POST /v1/messages/count_tokens') return anthropicMessages(req, res, route.endsWith('count_tokens'));
    if (url.pathname.startsWith('/v1/')) return sendAnthropicError(res, anthropicError(404, 'not_found_error', `no such endpoint: ${route} (this service speaks the Messages API)`));
  }
  if (route === 'POST /v1/chat/completions') {
    let body: unknown;
    try {
      body = await readJson(req);
    } catch (err) {
      return openAiError(res, 400, `invalid JSON body: ${(err as Error).message}`);
    }
    const problem = chatRequestProblem(body);
    if (problem) return openAiError(res, 400, problem);
    const request = body as ChatRequest;
    if (failStatus) return openAiError(res, failStatus, `${instance} is failing (${failStatus})`);
    if (sim) return simulatedChat(sim, res, request);
    if (request.stream) return inSlot(() => streamChat(res, request, paceOf(req)));
    return inSlot(() => send(res, 200, chatCompletion(request, instance)));
  }
  if (route === 'POST /v1/embeddings') {
    let body: { input?: unknown; model?: string };
    try {
      body = (await readJson(req)) as typeof body;
    } catch (err) {
      return openAiError(res, 400, `invalid JSON body: ${(err as Error).message}`);
    }
    if (failStatus) return openAiError(res, failStatus, `${instance} is failing (${failStatus})`);
    const inputs = typeof body?.input === 'string' ? [body.input] : Array.isArray(body?.input) ? body.input : undefined;
    if (!inputs || !inputs.every((x) => typeof x === 'string')) return openAiError(res, 400, '"input" must be a string or an array of strings');
    const tokens = inputs.reduce((n: number, s: string) => n + s.split(/\s+/).filter(Boolean).length, 0);
    return send(res, 200, {
      object: 'list',
      model: body.model ?? 'meshgate-demo-embed',
      data: inputs.map((s: string, index: number) => ({ object: 'embedding', index, embedding: embedding(s) })),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }
  if (req.method === 'POST' && !url.pathname.startsWith('/v1/')) {
    for await (const _ of req); // the body is not echoed
    return echo(req, url, res);
  }
  return openAiError(res, 404, `no such endpoint: ${route}`);
}

async function echo(req: http.IncomingMessage, url: URL, res: http.ServerResponse): Promise<void> {
  const delay = Number(url.searchParams.get('delay_ms') ?? 0);
  if (delay > 0) await new Promise((r) => setTimeout(r, Math.min(delay, 120_000)));
  const status = failStatus ?? Number(url.searchParams.get('status') ?? 200);
  return send(res, status >= 100 && status < 600 ? status : 200, {
    msg: url.searchParams.get('msg'),
    path: url.pathname,
    instance,
    service,
    headers: req.headers,
  });
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (!res.headersSent) openAiError(res, 500, (err as Error).message);
    else res.destroy();
  });
});

let deregister: (() => Promise<void>) | undefined;

server.listen(flags.port, flags.host, async () => {
  const port = (server.address() as AddressInfo).port;
  deregister = await flags.register(port, (address) => ({ http: `http://${address}:${port}/health` }));
  process.stdout.write(`${JSON.stringify({ msg: 'registered', service, instance, port })}\n`);
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await deregister?.();
  } catch (err) {
    process.stderr.write(`deregister ${instance} failed: ${(err as Error).message}\n`);
  }
  flags.close();
  server.closeAllConnections();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
