// The gateway under overload, per kind of route: does it degrade (shed what it cannot serve at
// once, with a clear answer, and keep serving the rest) or collapse (everyone waits)?
//   1. capacity: closed loop (wrk, 16 connections) on each route kind — plain, ext_authz-
//      protected, rate-limited, the model route (plain and streaming), transcoded JSON;
//   2. open loop (vegeta, 10 s time-out) at 0.5×, 1×, 2× and 5× of that capacity: goodput (2xx/s),
//      the refused answers (status, JSON or not, Retry-After or not, time to answer), time-outs,
//      p50/p99 of the admitted calls, the largest resident memory of each process, and whether
//      the plug-ins' health and admin endpoints kept answering meanwhile;
//   3. the model path's cost at 1 KB and 10 connections against the plain route (wrk, in turns):
//      throughput, added p50/p99 unloaded (1 connection), the processor's calls per CPU-second,
//      and Envoy's CPU per call on each — for a model through the processor and for a direct
//      model (its picker off: Envoy routes its plain calls itself) — and an ext_authz-protected
//      route on the same upstream (an API key); every call with the openai SDK's headers.
//      BENCH_COST_ROUNDS repeats it, each tree in turn, and prints the medians;
//   4. what a refusal costs Envoy and the processor: a plain route's and a model's bounds held
//      full by long calls, then wrk refused throughout.
// BENCH_BASELINE=<a built checkout of another commit> starts that commit's whole mesh beside this
// one (its launcher, xds-server, plug-ins and bootstrap; the same upstreams and clients), and
// every measurement runs on both in turns. BENCH_SECONDS shortens each run; BENCH_JSON names a
// file for the rows as JSON; BENCH_UPSTREAMS=load runs the upstreams off the mesh's core.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256 } from '../ext-authz/credentials/secrets.js';
import type { GatewayMesh, GatewayMeshOptions } from '../launcher/mesh.js';
import { startModelService, type ModelServiceOptions, type ModelServiceProcess } from '../launcher/model-service.js';
import { startProcess } from '../launcher/process.js';
import { distPath, repoRoot, toolPath } from '../launcher/repo.js';
import { waitFor } from '../launcher/wait.js';
import { cpuSeconds, rssBytes } from './lib/proc.js';
import { fmt, machineDescription, percentile } from './lib/stats.js';
import { median } from './lib/grpc-load.js';
import { SDK_HEADERS } from './lib/sdk-headers.js';
import { pinWrk, wrk, wrkWithCpu } from './lib/wrk.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 6);
// The HTTP upstreams are sized to run hot, as model servers are: SLOTS calls at once, WORK_MS
// each (capacity SLOTS × 1000 / WORK_MS a second), the rest waiting in the server's own queue.
// BENCH_WORK_MS=0 makes them as fast as node answers (the shared core is then the bound).
const SLOTS = Number(process.env['BENCH_SLOTS'] ?? 8);
const WORK_MS = Number(process.env['BENCH_WORK_MS'] ?? 10);
const upstreams: ModelServiceProcess[] = [];
// What the operator of a service with SLOTS slots sets in its service-defaults (both trees read
// it; cedf0c3 knew Limits too): twice its slots in flight, as many waiting. BENCH_LIMITS=off
// leaves every service at the defaults (this tree's resolve/defaults.ts DEFAULT_LIMITS, Envoy's
// for cedf0c3).
const LIMITS_SET =
  process.env['BENCH_LIMITS'] === 'off' ? '' : `MaxConcurrentRequests: ${2 * SLOTS}, MaxConnections: ${2 * SLOTS}, MaxPendingRequests: ${2 * SLOTS}`;
// BENCH_MAX_REQUEST_BYTES=N sets service-defaults MaxRequestBytes on the same services (1 MiB
// unless set: Envoy reads a request whole before routing it, so a refusal keeps the caller's
// HTTP/1.1 connection; 0 streams the body, and a refusal ends the connection, as before 924017b).
const MAX_REQUEST_BYTES = process.env['BENCH_MAX_REQUEST_BYTES'];
const MULTIPLES = [0.5, 1, 2, 5] as const;
const BASELINE = process.env['BENCH_BASELINE'];
const JSON_OUT = process.env['BENCH_JSON'];
const ONLY = process.env['BENCH_ROUTES']?.split(',');
const line = (s = ''): void => void process.stdout.write(`${s}\n`);
// An open-loop generator slowed by the system it loads is no longer open loop: the meshes (every
// process this one starts inherits its CPU) on core 0, wrk and vegeta on core 1.
const MESH_CPU = '0';
const LOAD_CPU = '1';
// BENCH_UPSTREAMS=load puts the upstreams with the load generators: the mesh's core is then the
// gateway's alone, as in a deployment where the services run elsewhere, and a flood's refusals
// no longer take the CPU the upstreams' own answers need (which shrinks their capacity).
const UPSTREAM_CPU = process.env['BENCH_UPSTREAMS'] === 'load' ? LOAD_CPU : MESH_CPU;
execFileSync('taskset', ['-a', '-p', '-c', MESH_CPU, String(process.pid)], { stdio: 'ignore' });
pinWrk(LOAD_CPU);
const KEY = 'mgk_overload_bench_key';
const POLICY = `policies:\n  keys:\n    credentials:\n      - type: api_key\n        keys: [{id: k1, sha256: ${sha256(KEY).toString('hex')}, subject: bench, tenant: bench, scopes: [chat]}]\n`;
// A limit no run reaches: the rate-limited route kind measures the check, not the limit.
const LIMITS = 'domain: meshgate\ndescriptors:\n  - key: remote_address\n    rate_limit: {unit: second, requests_per_unit: 100000000}\n';
const BODY_1K = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'x'.repeat(1024 - 64) }] });
const STREAM_BODY = JSON.stringify({ model: 'bench-model', stream: true, messages: [{ role: 'user', content: 'x'.repeat(1024 - 80) }] });
const TOKENIZE = JSON.stringify({ text: Array.from({ length: 205 }, (_, i) => `w${String(i).padStart(3, '0')}`).join(' ') });

interface RouteKind {
  readonly name: string;
  readonly path: string;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

const ROUTES: readonly RouteKind[] = [
  { name: 'plain', path: '/plain/v1/chat/completions', body: BODY_1K },
  { name: 'ext_authz', path: '/guarded/v1/chat/completions', body: BODY_1K, headers: { 'x-api-key': KEY } },
  { name: 'rate_limited', path: '/limited/v1/chat/completions', body: BODY_1K },
  { name: 'model', path: '/v1/chat/completions', body: BODY_1K },
  { name: 'model_stream', path: '/v1/chat/completions', body: STREAM_BODY },
  // A model whose calls need nothing of the processor (its picker off): Envoy routes them itself.
  { name: 'model_direct', path: '/v1/chat/completions', body: BODY_1K.replace('bench-model', 'bench-direct') },
  { name: 'transcoded', path: '/v1/inference/tokenize', body: TOKENIZE },
].filter((r) => !ONLY || ONLY.includes(r.name));

// The cost table's routes: the same calls to upstreams without slots.
const FAST_PLAIN: RouteKind = { name: 'plain (fast upstream)', path: '/fast/v1/chat/completions', body: BODY_1K, headers: SDK_HEADERS };
const FAST_MODEL: RouteKind = { name: 'model (fast upstream)', path: '/v1/chat/completions', body: BODY_1K.replace('bench-model', 'fast-model'), headers: SDK_HEADERS };
const FAST_DIRECT: RouteKind = { name: 'direct model (fast upstream)', path: '/v1/chat/completions', body: BODY_1K.replace('bench-model', 'fast-direct'), headers: SDK_HEADERS };
const FAST_AUTHZ: RouteKind = { name: 'ext_authz (fast upstream)', path: '/fast-guarded/v1/chat/completions', body: BODY_1K, headers: { ...SDK_HEADERS, 'x-api-key': KEY } };
/** The direct models' entries: the picker off (Services too, so that a tree before direct calls reads the entry). */
const DIRECT_MODELS = { 'bench-direct': 'chat-direct', 'fast-direct': 'fast-chat-direct' } as const;

// What a refusal costs: a service and a model whose bounds (one in flight, one waiting) held
// calls fill, so that every other call is refused — the plain route's by Envoy's router, the
// model's at its door (the baseline: by the router, after the processor routed it).
const HELD_LIMITS = 'MaxConcurrentRequests: 1, MaxConnections: 1, MaxPendingRequests: 1';
const HELD_PLAIN: RouteKind = { name: 'refused on the plain route', path: '/held/v1/chat/completions', body: BODY_1K, headers: SDK_HEADERS };
const HELD_MODEL: RouteKind = { name: 'refused on the model route', path: '/v1/chat/completions', body: BODY_1K.replace('bench-model', 'held-model'), headers: SDK_HEADERS };
/** How a held call is made: the upstream answers it 25 s later (a plain echo), or a stream of 22 chunks paced 2 s apart. */
const HOLD = {
  plain: (base: string, signal: AbortSignal) => fetch(`${base}/held/test?delay_ms=25000`, { signal }),
  model: (base: string, signal: AbortSignal) =>
    fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-demo-pace-ms': '2000' },
      body: JSON.stringify({ model: 'held-model', stream: true, messages: [{ role: 'user', content: 'hold '.repeat(20).trim() }] }),
      signal,
    }),
};

interface Tree {
  readonly label: string;
  readonly mesh: GatewayMesh;
  /** Process name → pid, for memory and CPU. */
  readonly pids: Readonly<Record<string, number>>;
  readonly admins: readonly string[];
}

async function startTree(label: string, root: string): Promise<Tree> {
  const { startGatewayMesh } = (await import(pathToFileURL(path.join(root, 'dist', 'launcher', 'mesh.js')).href)) as {
    startGatewayMesh: (o: GatewayMeshOptions) => Promise<GatewayMesh>;
  };
  // Routes without a policy of their own (the model API's) are public: the model route kinds measure the processor.
  // e.g. PROC_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to see where this tree's processor spends its time.
  const procNodeArgs = label === 'this' && process.env['PROC_NODE_ARGS'] ? { llmNodeArgs: process.env['PROC_NODE_ARGS'].split(' ') } : {};
  const mesh = await startGatewayMesh({ llm: true, authzPolicy: POLICY, ratelimitConfig: LIMITS, xdsArgs: ['--auth-default-policy=none'], ...procNodeArgs });
  try {
    return await populate(label, mesh);
  } catch (err) {
    await mesh.stop();
    throw err;
  }
}

async function populate(label: string, mesh: GatewayMesh): Promise<Tree> {
  const pids: Record<string, number> = { envoy: mesh.envoy.process.pid!, 'xds-server': mesh.xds.process.pid! };
  if (mesh.authz) pids['ext-authz'] = mesh.authz.process.pid!;
  if (mesh.ratelimit) pids['ratelimit'] = mesh.ratelimit.process.pid!;
  if (mesh.llm) pids['ext-proc'] = mesh.llm.process.pid!;
  // This tree's upstreams for both meshes (the baseline's demo service has no slots).
  const add = async (o: Omit<ModelServiceOptions, 'consulAddress' | 'id'>): Promise<void> => {
    const s = await startModelService({ ...o, id: `${o.service}-1`, consulAddress: mesh.consul.address });
    upstreams.push(s);
    pids[`upstream ${o.service}`] = s.process.pid!;
    if (UPSTREAM_CPU !== MESH_CPU) execFileSync('taskset', ['-a', '-p', '-c', UPSTREAM_CPU, String(s.process.pid)], { stdio: 'ignore' });
  };
  const hot = ['--slots', String(SLOTS), '--work-ms', String(WORK_MS)];
  const open = { 'auth-policy': 'none' };
  await add({ service: 'plain', meta: { ...open, 'gateway-path': '/plain/' }, extraArgs: hot });
  await add({ service: 'guarded', meta: { 'gateway-path': '/guarded/', 'auth-policy': 'keys' }, extraArgs: hot });
  await add({ service: 'limited', meta: { ...open, 'gateway-path': '/limited/', 'rate-limits': '/limited/=remote_address' }, extraArgs: hot });
  await add({ service: 'chat', meta: { ...open, models: 'bench-model', 'gateway-path': 'none' }, extraArgs: hot });
  await add({ service: 'chat-direct', meta: { ...open, models: 'bench-direct', 'gateway-path': 'none' }, extraArgs: hot });
  // The cost table's upstreams answer as fast as node does (no slots): what is measured is the path.
  await add({ service: 'fast', meta: { ...open, 'gateway-path': '/fast/' } });
  await add({ service: 'fast-guarded', meta: { 'gateway-path': '/fast-guarded/', 'auth-policy': 'keys' } });
  await add({ service: 'fast-chat', meta: { ...open, models: 'fast-model', 'gateway-path': 'none' } });
  await add({ service: 'fast-chat-direct', meta: { ...open, models: 'fast-direct', 'gateway-path': 'none' } });
  await add({ program: 'grpc-inference', service: 'inference', meta: { ...open, protocol: 'grpc', transcode: 'on' }, extraArgs: ['--api=v2'] });
  await add({ service: 'held', meta: { ...open, 'gateway-path': '/held/' } });
  await add({ service: 'held-chat', meta: { ...open, models: 'held-model', 'gateway-path': 'none' } });
  const kv = (key: string, text: string) => mesh.consul.api.kvPut(`meshgate/config/${key}`, text);
  const bodyBound = MAX_REQUEST_BYTES ? `MaxRequestBytes: ${MAX_REQUEST_BYTES}\n` : '';
  if (LIMITS_SET || bodyBound) {
    for (const s of ['plain', 'guarded', 'limited', 'chat', 'chat-direct']) await kv(`${s}-defaults`, `Kind: service-defaults\nName: ${s}\n${LIMITS_SET ? `Limits: {${LIMITS_SET}}\n` : ''}${bodyBound}`);
  }
  for (const s of ['held', 'held-chat']) await kv(`${s}-defaults`, `Kind: service-defaults\nName: ${s}\nLimits: {${HELD_LIMITS}}\n`);
  for (const [model, service] of Object.entries(DIRECT_MODELS)) await kv(model, `Kind: model-route\nName: ${model}\nServices: [${service}]\nEndpointPicker: "off"\n`);
  // The path services' upstream answers at /v1/chat/completions too: the gateway strips the prefix.
  for (const s of ['plain', 'guarded', 'limited', 'fast', 'fast-guarded', 'held']) {
    await kv(s, `Kind: service-router\nName: ${s}\nRoutes:\n  - Match: {HTTP: {PathPrefix: /${s}/}}\n    Destination: {PrefixRewrite: /}\n`);
  }
  for (const r of [...ROUTES, FAST_PLAIN, FAST_MODEL, FAST_DIRECT, FAST_AUTHZ, HELD_PLAIN, HELD_MODEL]) {
    await waitFor(`${label}: ${r.name} answers`, async () => (await send(mesh.gatewayUrl, r)).ok, { timeoutMs: 30_000, intervalMs: 250 });
  }
  const admins = [mesh.authz, mesh.ratelimit, mesh.llm].filter((c) => c !== undefined).map((c) => c.adminUrl);
  return { label, mesh, pids, admins };
}

function send(base: string, r: RouteKind): Promise<Response> {
  return fetch(`${base}${r.path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...r.headers }, body: r.body ?? '' });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-overload-'));

/** The request's headers, as both load generators send them. */
const headersOf = (r: RouteKind): Array<[string, string]> => Object.entries({ 'Content-Type': 'application/json', ...r.headers });

function bodyFile(r: RouteKind): string {
  const f = path.join(dir, `${r.name}.json`);
  fs.writeFileSync(f, r.body ?? '');
  return f;
}

function wrkScript(r: RouteKind): string {
  const f = path.join(dir, `${r.name}.lua`);
  const headers = headersOf(r).map(([k, v]) => `wrk.headers["${k}"] = "${v}"\n`).join('');
  fs.writeFileSync(f, `wrk.method = "POST"\n${headers}wrk.body = [[${r.body ?? ''}]]\n`);
  return f;
}

interface OpenLoop {
  readonly offered: number;
  readonly goodput: number;
  readonly statuses: Record<string, number>;
  readonly shed: number;
  /** Refused answers that were 429/503 JSON with Retry-After. */
  readonly shedClear: number;
  readonly shedP99: number;
  readonly timeouts: number;
  readonly admittedP50: number;
  readonly admittedP99: number;
  /** The most frequent errors and refusals. */
  readonly errors: readonly string[];
}

interface VegetaLine {
  code: number;
  latency: number;
  error: string;
  body?: string;
  headers?: Record<string, string[]>;
}

/** Sockets in TIME_WAIT on this machine (the ephemeral ports they hold). */
function timeWait(): number {
  const count = (file: string) => {
    try {
      // The fourth column is the state; 06 is TIME_WAIT.
      return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim().split(/\s+/)[3] === '06').length;
    } catch {
      return 0;
    }
  };
  return count('/proc/net/tcp') + count('/proc/net/tcp6');
}

/** While `work` runs: the largest RSS of each process and the plug-ins' /healthz every 200 ms. */
async function watching<T>(t: Tree, work: () => Promise<T>): Promise<{ result: T; rss: Record<string, number>; adminWorstMs: number; adminFailures: number }> {
  const rss: Record<string, number> = {};
  let adminWorstMs = 0;
  let adminFailures = 0;
  let running = true;
  const sample = () => {
    for (const [name, pid] of Object.entries(t.pids)) rss[name] = Math.max(rss[name] ?? 0, rssBytes(pid) / 2 ** 20);
  };
  const probe = (async () => {
    while (running) {
      sample();
      for (const a of t.admins) {
        const started = performance.now();
        try {
          const res = await fetch(`${a}/healthz`, { signal: AbortSignal.timeout(5_000) });
          if (!res.ok) adminFailures += 1;
        } catch {
          adminFailures += 1;
        }
        adminWorstMs = Math.max(adminWorstMs, performance.now() - started);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  try {
    const result = await work();
    return { result, rss, adminWorstMs, adminFailures };
  } finally {
    running = false;
    await probe;
  }
}

async function vegeta(t: Tree, r: RouteKind, rate: number, seconds: number): Promise<OpenLoop> {
  const targets = path.join(dir, `targets-${r.name}.txt`);
  const headers = headersOf(r).map(([k, v]) => `${k}: ${v}\n`).join('');
  fs.writeFileSync(targets, `POST ${t.mesh.gatewayUrl}${r.path}\n${headers}@${bodyFile(r)}\n`);
  const v = toolPath('vegeta');
  const out = path.join(dir, 'results.json');
  // Not execFileSync: the memory and health probes run on this event loop meanwhile.
  const attack = spawn('sh', ['-c', `taskset -c ${LOAD_CPU} "${v}" attack -targets="${targets}" -rate=${Math.max(1, Math.round(rate))}/s -duration=${seconds}s -timeout=10s | taskset -c ${LOAD_CPU} "${v}" encode --to=json > "${out}"`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await new Promise((resolve, reject) => attack.on('exit', (code) => (code === 0 ? resolve(undefined) : reject(new Error(`vegeta exited with ${code}`)))));
  const lines = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as VegetaLine);
  const statuses: Record<string, number> = {};
  const admitted: number[] = [];
  const shed: number[] = [];
  let shedClear = 0;
  let timeouts = 0;
  const errors = new Map<string, number>();
  const count = (what: string): void => void errors.set(what, (errors.get(what) ?? 0) + 1);
  for (const l of lines) {
    if (l.error && l.code === 0) count(l.error.replace(/.*: /, ''));
    const ms = l.latency / 1e6;
    const key = l.code === 0 ? (/timeout|deadline/i.test(l.error) ? 'timeout' : 'error') : String(l.code);
    statuses[key] = (statuses[key] ?? 0) + 1;
    if (key === 'timeout') timeouts += 1;
    if (l.code >= 200 && l.code < 300) admitted.push(ms);
    else if (l.code !== 0) {
      shed.push(ms);
      const answer = refusalOf(l.body);
      count(`${l.code} ${answer.code}`);
      if ((l.code === 429 || l.code === 503) && answer.json && hasHeader(l.headers, 'retry-after')) shedClear += 1;
    }
  }
  admitted.sort((a, b) => a - b);
  shed.sort((a, b) => a - b);
  return {
    offered: lines.length / seconds,
    goodput: admitted.length / seconds,
    statuses,
    shed: shed.length,
    shedClear,
    shedP99: percentile(shed, 99),
    timeouts,
    admittedP50: percentile(admitted, 50),
    admittedP99: percentile(admitted, 99),
    errors: [...errors].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([e, n]) => `${e} ×${n}`),
  };
}

/** A refusal's body (base64, as vegeta keeps it): JSON or not, and its error code ({"error": {"code": …}}) or how it starts. */
function refusalOf(base64: string | undefined): { json: boolean; code: string } {
  const text = Buffer.from(base64 ?? '', 'base64').toString('utf8');
  try {
    const e = (JSON.parse(text) as { error?: { code?: unknown; type?: unknown } }).error;
    return { json: true, code: String(e?.code ?? e?.type ?? 'json') };
  } catch {
    return { json: false, code: JSON.stringify(text.slice(0, 40)) };
  }
}

function hasHeader(h: Record<string, string[]> | undefined, name: string): boolean {
  return Object.keys(h ?? {}).some((k) => k.toLowerCase() === name);
}

/**
 * Past 2× the gateways and upstreams may work through a backlog for a while after the load
 * stops (of either tree): the next run starts once every process of both is idle and a call
 * is quick again.
 */
async function drained(t: Tree, r: RouteKind): Promise<void> {
  const all = trees.flatMap((x) => Object.values(x.pids));
  const busy = () => all.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  await waitFor(
    'every process idle',
    async () => {
      const before = busy();
      await new Promise((res) => setTimeout(res, 500));
      return busy() - before < 0.1; // under a fifth of a core
    },
    { timeoutMs: 120_000, intervalMs: 0 },
  );
  // A run past capacity may leave thousands of closed connections in TIME_WAIT (60 s), which
  // hold loopback's ephemeral ports: the next run's client could not connect ("address already
  // in use") and measured that instead of the gateway.
  await waitFor('closed connections gone from TIME_WAIT', () => timeWait() < 2_000, { timeoutMs: 90_000, intervalMs: 1_000 }).catch(() => undefined);
  await waitFor(
    'the queues drained',
    async () => {
      const started = performance.now();
      const ok = (await send(t.mesh.gatewayUrl, r)).ok;
      return ok && performance.now() - started < 50;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

/**
 * One line of the cost table: the plain route and the model route at 10 connections (and, when
 * `unloaded`, at 1, for the latency the model path adds), the processor's and Envoy's CPU per call.
 */
function cost(t: Tree, label: string, processorPid: number, unloaded: boolean): void {
  const pids = { envoy: t.pids['envoy']!, 'ext-proc': processorPid, 'ext-authz': t.pids['ext-authz']! };
  const run = (r: RouteKind, c: number) => wrkWithCpu(`${t.mesh.gatewayUrl}${r.path}`, {}, c, SECONDS, pids, wrkScript(r));
  // Warm first, each route as long: a cold processor spends twice the CPU a call (V8 not yet
  // optimised), and a tree whose processor served more calls before would look cheaper.
  for (const r of [FAST_PLAIN, FAST_MODEL, FAST_DIRECT, FAST_AUTHZ]) wrk(`${t.mesh.gatewayUrl}${r.path}`, {}, 10, 4, wrkScript(r));
  const p10 = run(FAST_PLAIN, 10);
  const m10 = run(FAST_MODEL, 10);
  const d10 = run(FAST_DIRECT, 10);
  // ext_authz on the same upstream (an API key), the SDK's headers with it: what the check costs.
  const a10 = run(FAST_AUTHZ, 10);
  const row: Record<string, number | string> = {
    tree: label,
    route: 'model_cost',
    plain_rps: Math.round(p10.rps),
    model_rps: Math.round(m10.rps),
    kept_pct: Math.round((m10.rps / p10.rps) * 100),
    direct_rps: Math.round(d10.rps),
    direct_kept_pct: Math.round((d10.rps / p10.rps) * 100),
    processor_calls_per_cpu_s: Math.round(1e6 / m10.cpu['ext-proc']!),
    envoy_cpu_us_plain: Math.round(p10.cpu['envoy']!),
    envoy_cpu_us_model: Math.round(m10.cpu['envoy']!),
    envoy_cpu_us_direct: Math.round(d10.cpu['envoy']!),
    processor_cpu_us_direct: Math.round(d10.cpu['ext-proc']!),
    authz_rps: Math.round(a10.rps),
    authz_kept_pct: Math.round((a10.rps / p10.rps) * 100),
    envoy_cpu_us_authz: Math.round(a10.cpu['envoy']!),
    authz_cpu_us: Math.round(a10.cpu['ext-authz']!),
  };
  let latency = '';
  if (unloaded) {
    const p1 = run(FAST_PLAIN, 1);
    const m1 = run(FAST_MODEL, 1);
    const d1 = run(FAST_DIRECT, 1);
    row['added_p50_ms'] = Number((m1.p50 - p1.p50).toFixed(3));
    row['added_p99_ms'] = Number((m1.p99 - p1.p99).toFixed(3));
    row['direct_added_p50_ms'] = Number((d1.p50 - p1.p50).toFixed(3));
    row['direct_added_p99_ms'] = Number((d1.p99 - p1.p99).toFixed(3));
    latency =
      `; unloaded p50 ${fmt(p1.p50)} → model ${fmt(m1.p50)} / direct ${fmt(d1.p50)} ms (added ${row['added_p50_ms']} / ${row['direct_added_p50_ms']}),` +
      ` p99 ${fmt(p1.p99)} → ${fmt(m1.p99)} / ${fmt(d1.p99)} ms (added ${row['added_p99_ms']} / ${row['direct_added_p99_ms']})`;
  }
  costRows.push(row);
  line(
    `  [${label}] plain ${row['plain_rps']}/s, model ${row['model_rps']}/s (kept ${row['kept_pct']}%), direct model ${row['direct_rps']}/s (kept ${row['direct_kept_pct']}%)${latency};` +
      ` processor ${row['processor_calls_per_cpu_s']} calls per CPU-second (µs per call: ${fmt(m10.cpu['ext-proc']!)}; per direct call, its access log: ${fmt(d10.cpu['ext-proc']!)});` +
      ` Envoy µs CPU per call: plain ${row['envoy_cpu_us_plain']}, model ${row['envoy_cpu_us_model']}, direct ${row['envoy_cpu_us_direct']};` +
      ` ext_authz ${row['authz_rps']}/s (kept ${row['authz_kept_pct']}%), Envoy ${row['envoy_cpu_us_authz']} µs, ext-authz ${row['authz_cpu_us']} µs a call`,
  );
}

/**
 * What a refusal costs each process: held calls fill a route's bounds, then wrk at 10
 * connections is refused throughout (checked: wrk's count of answers not 2xx).
 */
async function refusalCost(t: Tree): Promise<void> {
  const pids = { envoy: t.pids['envoy']!, 'ext-proc': t.pids['ext-proc']! };
  const row: Record<string, number | string> = { tree: t.label, route: 'refusal_cost' };
  const parts: string[] = [];
  for (const [kind, r] of [['plain', HELD_PLAIN], ['model', HELD_MODEL]] as const) {
    const held = new AbortController();
    const heldStatus: string[] = [];
    const calls: Array<Promise<unknown>> = [];
    const hold = (): void => {
      calls.push(
        HOLD[kind](t.mesh.gatewayUrl, held.signal).then(
          (res) => {
            heldStatus.push(String(res.status));
            // Read to its end (or the abort): a stream whose body were cancelled would end at once.
            return res.text().catch(() => undefined);
          },
          (err: Error) => heldStatus.push(err.name),
        ),
      );
    };
    // Three, for bounds of two: whichever of them is refused, the bounds are full; one more while
    // a call still gets through (a held call the upstream let go of).
    for (let i = 0; i < 3; i++) hold();
    try {
      await waitFor(`${t.label}: the ${kind} route's bounds full`, async () => {
        const a = await send(t.mesh.gatewayUrl, r);
        if (a.status === 503) return true;
        if (calls.length < 12) hold();
        throw new Error(`${a.status} ${(await a.text()).slice(0, 200)}; held calls: ${heldStatus.join(', ') || 'none answered yet'}`);
      }, { timeoutMs: 10_000, intervalMs: 50 });
      const run = wrkWithCpu(`${t.mesh.gatewayUrl}${r.path}`, {}, 10, SECONDS, pids, wrkScript(r));
      const served = Math.max(0, Math.round(run.rps * SECONDS - run.non2xx));
      row[`refused_${kind}_rps`] = Math.round(run.rps);
      row[`refused_${kind}_envoy_us`] = Math.round(run.cpu['envoy']!);
      row[`refused_${kind}_processor_us`] = Math.round(run.cpu['ext-proc']!);
      parts.push(`${kind} route ${row[`refused_${kind}_rps`]}/s, Envoy ${row[`refused_${kind}_envoy_us`]} µs, processor ${row[`refused_${kind}_processor_us`]} µs a refusal${served ? ` (${served} calls served: the figures mix in served calls)` : ''}`);
    } finally {
      held.abort();
      await Promise.all(calls);
    }
  }
  costRows.push(row);
  line(`  [${t.label}] refused throughout (wrk, 10 connections, ${SECONDS}s): ${parts.join('; ')}`);
}

interface Row {
  tree: string;
  route: string;
  multiple: number;
  capacity_rps: number;
  offered_rps: number;
  goodput_rps: number;
  shed: number;
  shed_clear: number;
  shed_p99_ms: number;
  timeouts: number;
  admitted_p50_ms: number;
  admitted_p99_ms: number;
  statuses: Record<string, number>;
  rss_mib: Record<string, number>;
  admin_worst_ms: number;
  admin_failures: number;
}

line('the gateway under overload, per route kind');
line(machineDescription({ envoy: toolPath('envoy'), wrk: toolPath('wrk'), vegeta: toolPath('vegeta') }));
line(`upstreams: the demo model service with ${SLOTS} slots of ${WORK_MS} ms (at most ${WORK_MS ? Math.round((SLOTS * 1000) / WORK_MS) : '∞'} calls a second each); transcoded: the gRPC inference service`);
line(`service-defaults Limits of the HTTP upstreams: ${LIMITS_SET || 'none (the defaults)'}${MAX_REQUEST_BYTES ? `; MaxRequestBytes: ${MAX_REQUEST_BYTES}` : ''}`);
line(
  `capacity: wrk -t1 -c16, ${SECONDS}s; then vegeta open loop ${SECONDS}s at ${MULTIPLES.join('×, ')}× of it, 10 s time-out; Envoy --concurrency 1, node plug-ins on core ${MESH_CPU}, the upstreams on core ${UPSTREAM_CPU}, the load generator on core ${LOAD_CPU}${BASELINE ? `; each measurement on this tree and on ${BASELINE} in turns` : ''}`,
);

const trees: Tree[] = [];
const rows: Row[] = [];
const costRows: Array<Record<string, number | string>> = [];
/** The cost table's rounds, each tree in turn within a round: on a noisy machine the medians say more than one run. */
const COST_ROUNDS = Math.max(0, Number(process.env['BENCH_COST_ROUNDS'] ?? 1));

/** Each tree's medians over the cost table's rounds. */
function costMedians(labels: readonly string[]): void {
  const keys = ['kept_pct', 'direct_kept_pct', 'authz_kept_pct', 'envoy_cpu_us_plain', 'envoy_cpu_us_model', 'envoy_cpu_us_direct', 'envoy_cpu_us_authz', 'authz_cpu_us', 'processor_calls_per_cpu_s', 'processor_cpu_us_direct', 'added_p50_ms', 'added_p99_ms'];
  for (const label of labels) {
    const mine = costRows.filter((r) => r['tree'] === label);
    const m = Object.fromEntries(keys.map((k) => [k, median(mine.map((r) => Number(r[k])))]));
    costRows.push({ tree: label, route: 'model_cost_median', rounds: mine.length, ...m });
    line(`  [${label}, medians of ${mine.length}] ${keys.map((k) => `${k} ${m[k]}`).join(', ')}`);
  }
}
try {
  trees.push(await startTree('this', repoRoot()));
  if (BASELINE) trees.push(await startTree(path.basename(BASELINE), BASELINE));
  for (const r of ROUTES) {
    const script = wrkScript(r);
    line();
    line(`== ${r.name}: POST ${r.path} (${(r.body ?? '').length} B)`);
    for (const t of trees) {
      await drained(t, r);
      wrk(`${t.mesh.gatewayUrl}${r.path}`, {}, 16, 2, script); // warm
      const cap = wrk(`${t.mesh.gatewayUrl}${r.path}`, {}, 16, SECONDS, script);
      line(`  [${t.label}] capacity ${Math.round(cap.rps)}/s (closed loop, p50 ${fmt(cap.p50)} ms, p99 ${fmt(cap.p99)} ms)`);
      for (const multiple of MULTIPLES) {
        await drained(t, r);
        const cxBefore = (await t.mesh.envoy.admin.stat('http.gateway.downstream_cx_total')) ?? 0;
        const w = await watching(t, () => vegeta(t, r, cap.rps * multiple, SECONDS));
        const connections = ((await t.mesh.envoy.admin.stat('http.gateway.downstream_cx_total')) ?? 0) - cxBefore;
        const o = w.result;
        const row: Row = {
          tree: t.label,
          route: r.name,
          multiple,
          capacity_rps: Math.round(cap.rps),
          offered_rps: Math.round(o.offered),
          goodput_rps: Math.round(o.goodput),
          shed: o.shed,
          shed_clear: o.shedClear,
          shed_p99_ms: o.shed ? Number(o.shedP99.toFixed(1)) : 0,
          timeouts: o.timeouts,
          admitted_p50_ms: Number(o.admittedP50.toFixed(2)),
          admitted_p99_ms: Number(o.admittedP99.toFixed(2)),
          statuses: o.statuses,
          rss_mib: Object.fromEntries(Object.entries(w.rss).map(([k, v]) => [k, Math.round(v)])),
          admin_worst_ms: Math.round(w.adminWorstMs),
          admin_failures: w.adminFailures,
        };
        rows.push(row);
        const statusText = Object.entries(o.statuses).map(([k, v]) => `${k}×${v}`).join(' ');
        line(
          `    ${String(multiple).padStart(3)}× offered ${row.offered_rps}/s: goodput ${row.goodput_rps}/s (${((o.goodput / cap.rps) * 100).toFixed(0)}% of capacity), admitted p50 ${fmt(o.admittedP50)} p99 ${fmt(o.admittedP99)} ms; refused ${o.shed} (${o.shedClear} as JSON 429/503 with Retry-After) p99 ${o.shed ? fmt(o.shedP99) : '-'} ms; time-outs ${o.timeouts}; ${connections} connections; [${statusText}]`,
        );
        if (o.errors.length) line(`         not 2xx: ${o.errors.join('; ')}`);
        line(`         RSS MiB ${Object.entries(row.rss_mib).map(([k, v]) => `${k} ${v}`).join(', ')}; plug-in /healthz worst ${row.admin_worst_ms} ms, ${row.admin_failures} failed`);
      }
    }
  }

  // 3. The model path's cost against the plain route: wrk at 1 KB, in turns.
  line();
  line(`== the model path's cost, 1 KB with the openai SDK's headers: 10 connections (throughput) and 1 (unloaded latency), ${SECONDS}s each, plain route and model route in turns, ${COST_ROUNDS} round(s)`);
  // BENCH_COST_ROUNDS=0: the refusals alone.
  for (let round = 0; round < COST_ROUNDS; round++) for (const t of trees) cost(t, t.label, t.pids['ext-proc']!, true);
  if (COST_ROUNDS > 1) costMedians(trees.map((t) => t.label));
  line();
  line(`== what a refusal costs: a route's bounds held full (${HELD_LIMITS}), every call refused`);
  for (const t of trees) await refusalCost(t);
  // (A profiled processor must exit cleanly to write its profile: no floor then.)
  if (!process.env['PROC_NODE_ARGS']) {
    // The floor under any processor: one that answers every message with bytes encoded once, in
    // this tree's processor's place (same port, same Consul registration: SIGKILL leaves it).
    const t = trees[0]!;
    await t.mesh.llm!.stop('SIGKILL');
    const floor = startProcess('constant-ext-proc', process.execPath, { args: [distPath('bench', 'lib', 'constant-ext-proc.js'), String(t.mesh.ports.llm), 'fast-model'] });
    try {
      await waitFor('the constant processor to answer', async () => (await send(t.mesh.gatewayUrl, FAST_MODEL)).ok, { timeoutMs: 30_000, intervalMs: 200 });
      cost(t, `${t.label} (constant processor)`, floor.pid!, false);
    } finally {
      await floor.stop();
      await t.mesh.llm!.start();
    }
  }
} finally {
  for (const u of upstreams) await u.stop();
  for (const t of trees) await t.mesh.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

if (JSON_OUT) {
  fs.writeFileSync(JSON_OUT, JSON.stringify([...rows, ...costRows], null, 2));
  line(`rows written to ${JSON_OUT}`);
}
