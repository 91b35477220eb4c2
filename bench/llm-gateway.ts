// What the LLM processor costs a model API call through the gateway, against a plain path
// route to the same kind of upstream (the demo model service, one process each):
//   1. POST /v1/chat/completions with 1 KB and 32 KB bodies, wrk closed-loop on 1 connection
//      (latency) and 10 (throughput): requests/s, p50, p99, added p50/p99, and the CPU the
//      processor, Envoy and the upstream spent per request — with meshgate's processor, and
//      with a constant one in its place (the floor of Envoy's ext_proc filter and the transport);
//   1b. the same at fixed rates, open loop (vegeta): 1,000/s and 5,000/s with 1 KB and 32 KB
//      bodies, and 2,000/s with 4 KB (the goal);
//   2. streams: time to first chunk and total time of a paced stream (10 chunks, 20 ms apart)
//      through the model route and straight to the service;
//   3. 1,000 streams open at once through the gateway: the processor's memory per stream.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGatewayMesh } from '../launcher/mesh.js';
import { startProcess } from '../launcher/process.js';
import { distPath, toolPath } from '../launcher/repo.js';
import { sleep, waitFor } from '../launcher/wait.js';
import { fmt, machineDescription, percentile } from './lib/stats.js';
import { rssBytes } from './lib/proc.js';
import { vegetaPost, type RateResult } from './lib/vegeta.js';
import { medianRun, wrkWithCpu, type WrkCpuRun } from './lib/wrk.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const STREAMS = Number(process.env['BENCH_STREAMS'] ?? 1_000);
const RATE_SECONDS = Number(process.env['BENCH_RATE_SECONDS'] ?? 5);
const line = (s = ''): void => void process.stdout.write(`${s}\n`);

line('the LLM processor through the gateway');
line(machineDescription({ envoy: toolPath('envoy'), wrk: toolPath('wrk'), vegeta: toolPath('vegeta') }));
line(`wrk -t1, ${SECONDS}s per run, ${REPS} runs of each in turns, medians; Envoy --concurrency 1, node upstreams, ext-proc, wrk: all on the 2 cores`);

const mesh = await startGatewayMesh({ llm: true, xdsArgs: ['--llm-max-request-bytes=1048576'] });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-llm-bench-'));
try {
  const model = await mesh.addInstance({ service: 'chat', id: 'chat-1', meta: { models: 'bench-model', 'gateway-path': 'none' } });
  const plain = await mesh.addInstance({ service: 'plain', id: 'plain-1', meta: { 'gateway-path': '/plain/' } });
  // The plain route's upstream answers at /v1/chat/completions too: the gateway strips /plain.
  await mesh.consul.api.kvPut('meshgate/config/plain', 'Kind: service-router\nName: plain\nRoutes:\n  - Match: {HTTP: {PathPrefix: /plain/}}\n    Destination: {PrefixRewrite: /}\n');
  const bodyOf = (bytes: number): string => JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'x'.repeat(bytes - 64) }] });
  const scriptFor = (bytes: number): string => {
    const file = path.join(dir, `post-${bytes}.lua`);
    fs.writeFileSync(file, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [[${bodyOf(bytes)}]]\n`);
    return file;
  };
  const post = (url: string, bytes: number) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodyOf(bytes) });
  await waitFor(
    'both routes',
    async () => (await post(`${mesh.gatewayUrl}/v1/chat/completions`, 1024)).ok && (await post(`${mesh.gatewayUrl}/plain/v1/chat/completions`, 1024)).ok,
    { timeoutMs: 20_000, intervalMs: 200 },
  );

  type Run = WrkCpuRun;
  const measure = (url: string, upstreamPid: number, processorPid: number, c: number, script: string): Run =>
    wrkWithCpu(url, {}, c, SECONDS, { envoy: mesh.envoy.process.pid, 'ext-proc': processorPid, upstream: upstreamPid }, script);
  const summary = medianRun;
  const cpuText = (r: Run, keys: string[]): string => keys.map((k) => `${k} ${r.cpu[k]!.toFixed(0)}`).join(', ');

  const calls = (processorPid: () => number) => {
    const out = new Map<string, { plain: Run; model: Run }>();
    for (const bytes of [1024, 32 * 1024]) {
      const script = scriptFor(bytes);
      for (const c of [1, 10]) {
        const plainRuns: Run[] = [];
        const modelRuns: Run[] = [];
        for (let i = 0; i < REPS; i++) {
          plainRuns.push(measure(`${mesh.gatewayUrl}/plain/v1/chat/completions`, plain.process.pid, processorPid(), c, script));
          modelRuns.push(measure(`${mesh.gatewayUrl}/v1/chat/completions`, model.process.pid, processorPid(), c, script));
        }
        out.set(`${bytes}/${c}`, { plain: summary(plainRuns), model: summary(modelRuns) });
      }
    }
    return out;
  };
  const ours = calls(() => mesh.llm!.process.pid);
  // The floor: a processor that answers with constant bytes on the same port (SIGKILL keeps the
  // Consul registration, whose gRPC check the constant server then answers).
  await mesh.llm!.stop('SIGKILL');
  const floorProc = startProcess('constant-ext-proc', process.execPath, { args: [distPath('bench', 'lib', 'constant-ext-proc.js'), String(mesh.ports.llm), 'bench-model'] });
  let floor: typeof ours;
  try {
    await waitFor('the constant processor to answer', async () => (await post(`${mesh.gatewayUrl}/v1/chat/completions`, 1024)).ok, { timeoutMs: 30_000, intervalMs: 200 });
    floor = calls(() => floorProc.pid);
  } finally {
    await floorProc.stop();
  }
  await mesh.llm!.start();
  await waitFor('the processor back', async () => (await post(`${mesh.gatewayUrl}/v1/chat/completions`, 1024)).ok, { timeoutMs: 30_000, intervalMs: 200 });

  line();
  line('1. request/response calls: plain path route against the model route, with meshgate\'s processor and with a constant one (µs of CPU per request)');
  for (const [key, o] of ours) {
    const [bytes, c] = key.split('/').map(Number) as [number, number];
    const f = floor.get(key)!;
    const row = (label: string, r: Run, base: Run) =>
      `    ${label}: ${Math.round(r.rps)}/s (kept ${((r.rps / base.rps) * 100).toFixed(0)}%), p50 ${fmt(r.p50)} p99 ${fmt(r.p99)} ms — added p50 ${fmt(r.p50 - base.p50)} ms, p99 ${fmt(r.p99 - base.p99)} ms; CPU ${cpuText(r, ['envoy', 'ext-proc', 'upstream'])}`;
    line(`  ${bytes / 1024} KB body, ${c} connection${c > 1 ? 's' : ''}: plain ${Math.round(o.plain.rps)}/s, p50 ${fmt(o.plain.p50)} p99 ${fmt(o.plain.p99)} ms; CPU ${cpuText(o.plain, ['envoy', 'upstream'])}`);
    line(row('model route, meshgate ext-proc', o.model, o.plain) + `; ${Math.round(1e6 / o.model.cpu['ext-proc']!)} requests per processor CPU-second`);
    line(row('model route, constant processor', f.model, f.plain));
  }

  // 1b. Fixed rates, open loop: what a caller sees at a given load (5,000/s is past what two
  // shared cores serve through any ext_proc here: the achieved rate says so).
  line();
  line(`1b. fixed rates, open loop (vegeta, ${RATE_SECONDS}s each, plain and model route in turns): achieved/s, success, p50, p99`);
  for (const [rate, bytes] of [[1000, 1024], [1000, 32 * 1024], [2000, 4 * 1024], [5000, 1024], [5000, 32 * 1024]] as const) {
    const file = path.join(dir, `body-${bytes}.json`);
    fs.writeFileSync(file, bodyOf(bytes));
    // A rate past capacity leaves a queue behind in the upstreams: each run starts once it is gone.
    const drained = () =>
      waitFor('the queues drained', async () => (await post(`${mesh.gatewayUrl}/plain/v1/chat/completions`, 1024)).ok && (await post(`${mesh.gatewayUrl}/v1/chat/completions`, 1024)).ok, {
        timeoutMs: 60_000,
        intervalMs: 500,
      });
    await drained();
    const p = vegetaPost(`${mesh.gatewayUrl}/plain/v1/chat/completions`, file, rate, RATE_SECONDS, dir);
    await drained();
    const m = vegetaPost(`${mesh.gatewayUrl}/v1/chat/completions`, file, rate, RATE_SECONDS, dir);
    const show = (r: RateResult) => `${Math.round(r.throughput)}/s ok ${(r.success * 100).toFixed(1)}%, p50 ${fmt(r.p50)} p99 ${fmt(r.p99)} ms`;
    line(`  ${rate}/s, ${bytes / 1024} KB: plain ${show(p)}; model route ${show(m)} — added p50 ${fmt(m.p50 - p.p50)} ms, p99 ${fmt(m.p99 - p.p99)} ms`);
  }

  // 2. Streams: the first chunk and the whole, through the model route and straight to the service.
  const streamBody = JSON.stringify({ model: 'bench-model', stream: true, messages: [{ role: 'user', content: 'one two three four five six seven' }] });
  const timeStream = async (url: string): Promise<{ first: number; total: number }> => {
    const started = performance.now();
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-demo-pace-ms': '20' }, body: streamBody });
    const reader = res.body!.getReader();
    let first = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!first && value.length) first = performance.now() - started;
    }
    return { first, total: performance.now() - started };
  };
  const N = Number(process.env['BENCH_STREAM_REPS'] ?? 200);
  const via: Array<{ first: number; total: number }> = [];
  const direct: Array<{ first: number; total: number }> = [];
  for (let i = 0; i < 10; i++) await timeStream(`${mesh.gatewayUrl}/v1/chat/completions`); // warm
  for (let i = 0; i < N; i++) {
    via.push(await timeStream(`${mesh.gatewayUrl}/v1/chat/completions`));
    direct.push(await timeStream(`${model.url}/v1/chat/completions`));
  }
  const pct = (xs: number[], p: number) => percentile([...xs].sort((a, b) => a - b), p);
  line();
  line(`2. streams (${N} in turns, 10 chunks 20 ms apart, sequential; the gateway asks the service for usage and takes that chunk out)`);
  for (const [label, key] of [['time to first chunk', 'first'], ['total', 'total']] as const) {
    const v = via.map((x) => x[key]);
    const d = direct.map((x) => x[key]);
    line(`  ${label}: through the gateway p50 ${fmt(pct(v, 50))} p99 ${fmt(pct(v, 99))} ms; direct p50 ${fmt(pct(d, 50))} p99 ${fmt(pct(d, 99))} ms — added p50 ${fmt(pct(v, 50) - pct(d, 50))} ms, p99 ${fmt(pct(v, 99) - pct(d, 99))} ms`);
  }

  // 3. Many streams at once: each paced slowly, so all are open together.
  const rss = async (): Promise<number> => rssBytes(mesh.llm!.process.pid);
  const openStreams = async (): Promise<number> => ((await (await fetch(`${mesh.llm!.adminUrl}/status`)).json()) as { streams_open: number }).streams_open;
  await sleep(1_000);
  const before = await rss();
  const slow = JSON.stringify({ model: 'bench-model', stream: true, messages: [{ role: 'user', content: 'a b c d e f g h' }] });
  const controllers: AbortController[] = [];
  const pending: Array<Promise<unknown>> = [];
  for (let i = 0; i < STREAMS; i++) {
    const ac = new AbortController();
    controllers.push(ac);
    pending.push(
      fetch(`${mesh.gatewayUrl}/v1/chat/completions`, { method: 'POST', signal: ac.signal, headers: { 'content-type': 'application/json', 'x-demo-pace-ms': '2000' }, body: slow })
        .then(async (r) => {
          const reader = r.body!.getReader();
          for (;;) if ((await reader.read()).done) break;
        })
        .catch(() => undefined),
    );
  }
  let open = 0;
  await waitFor('the streams open', async () => (open = await openStreams()) >= STREAMS * 0.95, { timeoutMs: 60_000, intervalMs: 250 }).catch(() => undefined);
  const during = await rss();
  line();
  line(`3. ${open} streams open at once through the gateway: ext-proc RSS ${(before / 2 ** 20).toFixed(1)} → ${(during / 2 ** 20).toFixed(1)} MiB, ${((during - before) / Math.max(open, 1) / 1024).toFixed(1)} KiB per stream`);
  for (const ac of controllers) ac.abort();
  await Promise.all(pending);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
  await mesh.stop();
}
