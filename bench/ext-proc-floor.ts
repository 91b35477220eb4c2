// Where a model call's cost through the processor lies: in Envoy's ext_proc filter, in the
// processor's transport, or in the processor's own work. The gateway's configuration (from a
// running gateway's config dump) is served by static Envoys that differ in one thing each, with
// the processor's clusters pointed at:
//   - the plain route of the same gateway (no processor): the reference;
//   - a constant processor (bench/lib/constant-ext-proc.ts: every answer encoded once, on the
//     processor's transport) — the gateway's processing mode as served, then with one message per
//     call only (request headers, answered with the route): what Envoy spends on the stream itself;
//   - this tree's processor, and BENCH_BASELINE's (a built checkout) beside it, with the same flags.
// wrk at 10 connections, 1 KB POST with the openai SDK's headers, each variant in turn for
// BENCH_ROUNDS rounds of BENCH_SECONDS; Envoy, the processors and the upstream on core 0, wrk on
// core 1. Printed: calls/s, kept share of the plain route in the same round, Envoy's and the
// processor's CPU per call (user + kernel, from /proc), ext_proc messages a call (Envoy's count).
// BENCH_JSON names a file for the medians as JSON; PROC_NODE_ARGS, node flags for this tree's processor.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startExtProc } from '../launcher/ext-proc.js';
import type { Component } from '../launcher/component.js';
import { startGatewayMesh, type GatewayMesh } from '../launcher/mesh.js';
import { startModelService, type ModelServiceProcess } from '../launcher/model-service.js';
import { freePorts } from '../launcher/ports.js';
import { startProcess, type ManagedProcess } from '../launcher/process.js';
import { distPath } from '../launcher/repo.js';
import { waitFor } from '../launcher/wait.js';
import { median } from './lib/grpc-load.js';
import { SDK_HEADERS } from './lib/sdk-headers.js';
import { bootstrap, clone, dumped, hcmOf, startStaticEnvoy, type Dumped, type Json, type StaticEnvoy } from './lib/static-gateway.js';
import { fmt, machineDescription } from './lib/stats.js';
import { pinWrk, wrkWithCpu, type WrkCpuRun } from './lib/wrk.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const BASELINE = process.env['BENCH_BASELINE'];
const JSON_OUT = process.env['BENCH_JSON'];
const MODEL = 'fast-model';
const line = (s = ''): void => void process.stdout.write(`${s}\n`);
execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
pinWrk('1');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-ext-proc-floor-'));
const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(1024 - 64) }] });
const luaHeaders = Object.entries({ 'Content-Type': 'application/json', ...SDK_HEADERS }).map(([k, v]) => `wrk.headers["${k}"] = "${v}"\n`).join('');
const script = path.join(dir, 'post.lua');
fs.writeFileSync(script, `wrk.method = "POST"\n${luaHeaders}wrk.body = [[${body}]]\n`);

const EXT_PROC = 'envoy.filters.http.ext_proc';
/** One message a call: the request's headers (the constant processor routes there); the body and the answer go past the processor. */
const HEADERS_ONLY = { request_header_mode: 'SEND', request_body_mode: 'NONE', request_trailer_mode: 'SKIP', response_header_mode: 'SKIP', response_body_mode: 'NONE', response_trailer_mode: 'SKIP' };

/** The gateway's clusters with every endpoint on the processor's port moved to `port`. */
function processorAt(d: Dumped, from: number, port: number): Json[] {
  return d.clusters.map((c) => {
    const text = JSON.stringify(c);
    return text.includes(`"port_value":${from}`) ? (JSON.parse(text.replaceAll(`"port_value":${from}`, `"port_value":${port}`)) as Json) : c;
  });
}

/** The listener's ext_proc filter's config. */
const extProcOf = (listener: Json): Json => (hcmOf(listener)['http_filters'] as Json[]).find((f) => f['name'] === EXT_PROC)!['typed_config'] as Json;

function withMode(listener: Json, mode: Json): Json {
  const l = clone(listener);
  extProcOf(l)['processing_mode'] = mode;
  return l;
}

interface Variant {
  readonly name: string;
  readonly envoy: StaticEnvoy;
  readonly path: string;
  /** The processor's process, when the variant has one. */
  readonly processor?: number;
}

const messagesSent = async (e: StaticEnvoy): Promise<number> => {
  const text = await (await fetch(`${e.admin}/stats?filter=${encodeURIComponent('ext_proc\\.stream_msgs_sent$')}`)).text();
  return [...text.matchAll(/: (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
};

let mesh: GatewayMesh | undefined;
let upstreams: ModelServiceProcess[] = [];
const envoys: StaticEnvoy[] = [];
const processors: Component[] = [];
const constants: ManagedProcess[] = [];
try {
  line(`# where a model call's cost lies: Envoy's ext_proc filter, the processor's transport, its own work; ${machineDescription()}`);
  line(`# ${ROUNDS} round(s) of ${SECONDS}s per variant, in turns; wrk -c10 (1 KB POST, the openai SDK's headers) on core 1; Envoy (one worker), processors and upstream on core 0`);
  mesh = await startGatewayMesh({ llm: true });
  const consulAddress = mesh.consul.address;
  upstreams = [
    await startModelService({ service: 'fast', id: 'fast-1', consulAddress, meta: { 'auth-policy': 'none', 'gateway-path': '/fast/' } }),
    await startModelService({ service: 'fast-chat', id: 'fast-chat-1', consulAddress, meta: { 'auth-policy': 'none', models: MODEL, 'gateway-path': 'none' } }),
  ];
  await mesh.consul.api.kvPut('meshgate/config/fast', 'Kind: service-router\nName: fast\nRoutes:\n  - Match: {HTTP: {PathPrefix: /fast/}}\n    Destination: {PrefixRewrite: /}\n');
  const answers = async (base: string, p: string): Promise<boolean> => {
    const r = await fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await r.text();
    if (!r.ok) throw new Error(`${r.status} ${text.slice(0, 200)}`);
    return true;
  };
  for (const p of ['/fast/v1/chat/completions', '/v1/chat/completions']) {
    await waitFor(`the gateway answers ${p}`, () => answers(mesh!.gatewayUrl, p), { timeoutMs: 30_000, intervalMs: 250 });
  }
  const d = dumped(await mesh.envoy.admin.configDump(true));
  // The processors measured, each with the flags the gateway's own has (the pool read from the xds-server).
  const processorArgs = [`--xds=127.0.0.1:${mesh.ports.xds}`, `--request-log-file=${path.join(dir, 'request-log')}`];
  // PROC_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof": where this tree's processor spends its time.
  const nodeArgs = process.env['PROC_NODE_ARGS']?.split(' ');
  const started = async (name: string, distRoot?: string): Promise<[string, number, number]> => {
    const [port, adminPort] = (await freePorts(2)) as [number, number];
    const c = await startExtProc({ port, adminPort, extraArgs: processorArgs, logFile: path.join(dir, `${name}.log`), ...(distRoot ? { distRoot } : nodeArgs ? { nodeArgs } : {}) });
    processors.push(c);
    return [name, port, c.process.pid!];
  };
  const real = [await started('this tree'), ...(BASELINE ? [await started(path.basename(BASELINE), path.join(BASELINE, 'dist'))] : [])];
  const [constantPort, headersPort] = (await freePorts(2)) as [number, number];
  const constantAt = (port: number, ...extra: string[]): ManagedProcess => {
    const p = startProcess('constant-ext-proc', process.execPath, { args: [distPath('bench', 'lib', 'constant-ext-proc.js'), String(port), MODEL, ...extra], logFile: path.join(dir, 'constant.log') });
    constants.push(p);
    return p;
  };
  const constant = constantAt(constantPort);
  // The same, routing at the request's headers: the only message it gets.
  const headersConstant = constantAt(headersPort, 'headers');

  const serve = async (name: string, clusters: Json[], listener = d.listener): Promise<StaticEnvoy> => {
    const [port, admin] = (await freePorts(2)) as [number, number];
    const e = await startStaticEnvoy(name, bootstrap({ ...d, clusters }, port, admin, listener), dir);
    envoys.push(e);
    return e;
  };
  const variants: Variant[] = [];
  const plainEnvoy = await serve('plain', d.clusters);
  variants.push({ name: 'plain route (no processor)', envoy: plainEnvoy, path: '/fast/v1/chat/completions' });
  const constantClusters = processorAt(d, mesh.ports.llm, constantPort);
  variants.push({ name: 'constant processor, the gateway’s processing mode', envoy: await serve('constant', constantClusters), path: '/v1/chat/completions', processor: constant.pid! });
  const gatewayMode = JSON.stringify(extProcOf(d.listener)['processing_mode']);
  variants.push({ name: 'constant processor, one message (request headers)', envoy: await serve('headers-only', processorAt(d, mesh.ports.llm, headersPort), withMode(d.listener, HEADERS_ONLY)), path: '/v1/chat/completions', processor: headersConstant.pid! });
  for (const [name, port, pid] of real) variants.push({ name: `processor: ${name}`, envoy: await serve(name, processorAt(d, mesh.ports.llm, port)), path: '/v1/chat/completions', processor: pid });
  line(`# the gateway's processing mode: ${gatewayMode}`);

  for (const v of variants) {
    const url = `http://127.0.0.1:${v.envoy.port}${v.path}`;
    await waitFor(`${v.name} answers`, () => answers(`http://127.0.0.1:${v.envoy.port}`, v.path), { timeoutMs: 15_000, intervalMs: 200 });
    wrkWithCpu(url, {}, 10, 3, { envoy: v.envoy.pid }, script); // warm: a cold processor spends twice the CPU a call
  }
  const runs = new Map<string, Array<WrkCpuRun & { messages: number; kept: number }>>(variants.map((v) => [v.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    let plainRps = NaN;
    for (const v of variants) {
      const before = await messagesSent(v.envoy);
      const r = wrkWithCpu(`http://127.0.0.1:${v.envoy.port}${v.path}`, {}, 10, SECONDS, { envoy: v.envoy.pid, ...(v.processor ? { processor: v.processor } : {}) }, script);
      const calls = r.rps * SECONDS;
      if (r.non2xx > 0) throw new Error(`${v.name}: ${r.non2xx} of ${Math.round(calls)} answers not 2xx`);
      const messages = ((await messagesSent(v.envoy)) - before) / calls;
      if (!v.processor) plainRps = r.rps;
      const kept = r.rps / plainRps;
      runs.get(v.name)!.push({ ...r, messages, kept });
      line(
        `  round ${round + 1} ${v.name}: ${Math.round(r.rps)}/s (${Math.round(kept * 100)}% of plain), Envoy ${fmt(r.cpu['envoy']!)} µs a call` +
          (v.processor ? `, processor ${fmt(r.cpu['processor']!)} µs (kernel ${fmt(r.cpu['processor (kernel)']!)}), ${messages.toFixed(2)} messages a call` : ''),
      );
    }
  }
  line();
  line('| variant | calls/s | kept of plain | Envoy µs CPU a call | processor µs CPU a call | processor calls per CPU-second | ext_proc messages a call |');
  line('|---|---|---|---|---|---|---|');
  const rows: Json[] = [];
  for (const v of variants) {
    const rs = runs.get(v.name)!;
    const m = (f: (r: (typeof rs)[number]) => number): number => median(rs.map(f));
    const proc = v.processor ? m((r) => r.cpu['processor']!) : NaN;
    const row = {
      variant: v.name,
      rps: Math.round(m((r) => r.rps)),
      kept_pct: Math.round(m((r) => r.kept) * 100),
      envoy_cpu_us: Math.round(m((r) => r.cpu['envoy']!)),
      processor_cpu_us: v.processor ? Math.round(proc) : null,
      processor_calls_per_cpu_s: v.processor ? Math.round(1e6 / proc) : null,
      messages: v.processor ? Number(m((r) => r.messages).toFixed(2)) : 0,
    };
    rows.push(row);
    line(`| ${v.name} | ${row.rps} | ${row.kept_pct}% | ${row.envoy_cpu_us} | ${row.processor_cpu_us ?? '–'} | ${row.processor_calls_per_cpu_s ?? '–'} | ${row.messages} |`);
  }
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify(rows, null, 2));
} finally {
  for (const e of envoys) await e.proc.stop();
  for (const c of constants) await c.stop();
  for (const p of processors) await p.stop();
  for (const u of upstreams) await u.stop();
  await mesh?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
