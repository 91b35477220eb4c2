// What JSON ↔ gRPC transcoding adds at the gateway, and how soon a service's new method is
// reachable. The demo's gRPC inference service (v2: Tokenize, a 1 KB text in, its ~1 KB of
// tokens out) behind the gateway; the same call as native gRPC (a gRPC frame, content-type
// application/grpc) and as JSON (the REST path), by the same load generator — vegeta over h2c,
// open loop at a fixed rate — so that the difference is the transcoding, not the client; JSON
// over HTTP/1.1 too, as curl-like callers send it. Runs in turns, medians. Then the time from a
// restarted instance's registration (with a new method) to the method answering through the
// gateway, repeated.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import protobuf from 'protobufjs';
import { startGatewayMesh } from '../launcher/mesh.js';
import type { ModelServiceProcess } from '../launcher/model-service.js';
import { toolPath } from '../launcher/repo.js';
import { waitFor } from '../launcher/wait.js';
import { cpuSeconds } from './lib/proc.js';
import { fmt, machineDescription } from './lib/stats.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const RATES = (process.env['BENCH_RATES'] ?? '1000,5000').split(',').map(Number);
const RESTARTS = Number(process.env['BENCH_RESTARTS'] ?? 10);
const line = (s = ''): void => void process.stdout.write(`${s}\n`);

interface Run {
  readonly throughput: number;
  readonly success: number;
  readonly p50: number;
  readonly p99: number;
  /** Envoy's CPU per answered request, µs. */
  readonly envoyCpu: number;
  /** What the requests that failed got ("0": no answer in time). */
  readonly failures: Readonly<Record<string, number>>;
}

let envoyPid = 0;

function attack(targets: string, rate: number, seconds: number, h2c: boolean): Run {
  const v = toolPath('vegeta');
  const cpuBefore = envoyPid ? cpuSeconds(envoyPid) : 0;
  const out = execFileSync('sh', ['-c', `"${v}" attack ${h2c ? '-h2c' : ''} -targets="${targets}" -rate=${rate}/s -duration=${seconds}s -timeout=10s | "${v}" report -type=json`], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const r = JSON.parse(out) as { throughput: number; success: number; latencies: Record<string, number>; requests: number; status_codes: Record<string, number> };
  const cpu = envoyPid ? cpuSeconds(envoyPid) - cpuBefore : 0;
  return { throughput: r.throughput, success: r.success, p50: r.latencies['50th']! / 1e6, p99: r.latencies['99th']! / 1e6, envoyCpu: (cpu / Math.max(1, r.requests * r.success)) * 1e6, failures: Object.fromEntries(Object.entries(r.status_codes).filter(([c]) => !c.startsWith('2'))) };
}

/** The failed requests' statuses of the median run by success ("503×120"), when any failed. */
function failuresOf(runs: readonly Run[]): string {
  const run = [...runs].sort((a, b) => a.success - b.success)[Math.floor(runs.length / 2)]!;
  const f = Object.entries(run.failures).map(([code, n]) => `${code === '0' ? 'no answer' : code}×${n}`);
  return f.length ? `; failed: ${f.join(', ')}` : '';
}

const median = (runs: readonly Run[], k: Exclude<keyof Run, 'failures'>): number => [...runs.map((r) => r[k])].sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;

line('JSON ↔ gRPC transcoding at the gateway: a transcoded JSON call against the same call as native gRPC');
line(machineDescription({ envoy: toolPath('envoy'), vegeta: toolPath('vegeta') }));
line(`vegeta open loop, ${SECONDS}s per run, ${REPS} runs of each in turns, medians; Envoy --concurrency 1, the grpc-js upstream, vegeta: all on the same cores`);

const mesh = await startGatewayMesh({});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-transcoding-bench-'));
let instance: ModelServiceProcess | undefined;
try {
  const start = (api: 'v1' | 'v2') =>
    mesh.addInstance({ program: 'grpc-inference', service: 'inference', id: 'inference-1', meta: { protocol: 'grpc', transcode: 'on' }, extraArgs: [`--api=${api}`] });
  instance = await start('v2');
  const text = Array.from({ length: 205 }, (_, i) => `w${String(i).padStart(3, '0')}`).join(' '); // 1,024 bytes
  const json = JSON.stringify({ text });
  const root = protobuf.Root.fromJSON({ nested: { TokenizeRequest: { fields: { text: { type: 'string', id: 1 } } } } });
  const message = root.lookupType('TokenizeRequest').encode({ text }).finish();
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), message]);
  frame.writeUInt32BE(message.length, 1);
  fs.writeFileSync(path.join(dir, 'body.json'), json);
  fs.writeFileSync(path.join(dir, 'body.grpc'), frame);
  envoyPid = mesh.envoy.process.pid!;
  const directTargets = path.join(dir, 'direct.txt');
  fs.writeFileSync(directTargets, `POST http://127.0.0.1:${instance.port}/meshgate.demo.v1.Inference/Tokenize\nContent-Type: application/grpc\nTE: trailers\n@${path.join(dir, 'body.grpc')}\n`);
  const grpcTargets = path.join(dir, 'grpc.txt');
  const jsonTargets = path.join(dir, 'json.txt');
  fs.writeFileSync(grpcTargets, `POST ${mesh.gatewayUrl}/meshgate.demo.v1.Inference/Tokenize\nContent-Type: application/grpc\nTE: trailers\n@${path.join(dir, 'body.grpc')}\n`);
  fs.writeFileSync(jsonTargets, `POST ${mesh.gatewayUrl}/v1/inference/tokenize\nContent-Type: application/json\n@${path.join(dir, 'body.json')}\n`);
  await waitFor('Tokenize transcoded', async () => (await fetch(`${mesh.gatewayUrl}/v1/inference/tokenize`, { method: 'POST', body: json, headers: { 'content-type': 'application/json' } })).status === 200, { timeoutMs: 20_000, intervalMs: 100 });
  const answer = await (await fetch(`${mesh.gatewayUrl}/v1/inference/tokenize`, { method: 'POST', body: json, headers: { 'content-type': 'application/json' } })).text();
  line(`request: ${json.length} B of JSON, ${message.length} B of protobuf; answer: ${answer.length} B of JSON`);
  // The native call answers with grpc-status 0 (vegeta sees only the HTTP status): checked once.
  const grpcCheck = execFileSync('sh', ['-c', `"${toolPath('vegeta')}" attack -h2c -targets="${grpcTargets}" -rate=10/s -duration=1s | "${toolPath('vegeta')}" encode`], { encoding: 'utf8' });
  if (!grpcCheck.includes('"code":200')) throw new Error(`native gRPC through the gateway failed: ${grpcCheck.slice(0, 300)}`);
  const grpcStatsBefore = (await mesh.envoy.admin.stat('cluster.inference.upstream_rq_200')) ?? 0;

  for (const rate of RATES) {
    attack(grpcTargets, rate, 2, true); // warm up
    attack(jsonTargets, rate, 2, true);
    const runs = { direct: [] as Run[], grpc: [] as Run[], json: [] as Run[], json11: [] as Run[] };
    for (let i = 0; i < REPS; i++) {
      runs.direct.push(attack(directTargets, rate, SECONDS, true));
      runs.grpc.push(attack(grpcTargets, rate, SECONDS, true));
      runs.json.push(attack(jsonTargets, rate, SECONDS, true));
      runs.json11.push(attack(jsonTargets, rate, SECONDS, false));
    }
    const row = (label: string, r: Run[]) =>
      `    ${label}: ${Math.round(median(r, 'throughput'))}/s answered (${(median(r, 'success') * 100).toFixed(1)}% 2xx), p50 ${fmt(median(r, 'p50'))} ms, p99 ${fmt(median(r, 'p99'))} ms${r === runs.direct ? '' : `, Envoy ${Math.round(median(r, 'envoyCpu'))} µs CPU/request`}${failuresOf(r)}`;
    line(`  ${rate}/s:`);
    line(row('native gRPC, to the instance', runs.direct));
    line(row('native gRPC (h2c)           ', runs.grpc));
    line(row('transcoded JSON (h2c)       ', runs.json));
    line(row('transcoded JSON (HTTP/1.1)  ', runs.json11));
    line(`    added by transcoding (h2c, same client): p50 ${fmt(median(runs.json, 'p50') - median(runs.grpc, 'p50'))} ms, p99 ${fmt(median(runs.json, 'p99') - median(runs.grpc, 'p99'))} ms`);
  }
  const grpcStatsAfter = (await mesh.envoy.admin.stat('cluster.inference.upstream_rq_200')) ?? 0;
  line(`  (the upstream answered ${grpcStatsAfter - grpcStatsBefore} calls with HTTP 200)`);

  // A new method through a restart: the instance goes (v2 → v1: Tokenize gone), comes back with
  // it (v1 → v2); from its registration to the first 200 of Tokenize through the gateway.
  const reachable: number[] = [];
  const tokenize = async () => (await fetch(`${mesh.gatewayUrl}/v1/inference/tokenize`, { method: 'POST', body: json, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(2_000) })).status;
  for (let i = 0; i < RESTARTS; i++) {
    await instance.stop();
    instance = await start('v1');
    await waitFor('Tokenize gone', async () => (await tokenize()) === 404, { timeoutMs: 20_000, intervalMs: 20 });
    await instance.stop();
    instance = await start('v2'); // returns once the instance has registered in Consul
    const registered = Date.now();
    await waitFor('Tokenize reachable', async () => (await tokenize()) === 200, { timeoutMs: 20_000, intervalMs: 5 });
    reachable.push(Date.now() - registered);
  }
  reachable.sort((a, b) => a - b);
  line(`new method reachable after re-registration (${RESTARTS} restarts; Consul check interval 1s): p50 ${reachable[Math.floor(reachable.length / 2)]} ms, max ${reachable.at(-1)} ms (all: ${reachable.join(', ')})`);
} finally {
  await instance?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  await mesh.stop();
}
