// What ext_authz costs a request through the gateway, and where that cost is: the same
// upstream behind a public route (ext_authz off) and a protected one (on), with
//   1. meshgate's ext-authz deciding (an API-key policy), and
//   2. a server that answers every Check "allowed" at once in its place (same port, same Consul
//      registration, the same HTTP/2 transport): Envoy's ext_authz filter and gRPC client, the
//      transport and the kernel, without any decision.
// For each: requests/s, p50 and p99 from wrk, and the CPU each process spent per request. On
// two shared cores the CPU per request is what bounds the throughput: kept = what the plain
// route costs / what the protected one costs.
import { sha256 } from '../ext-authz/credentials/secrets.js';
import { startGatewayMesh } from '../launcher/mesh.js';
import { startProcess } from '../launcher/process.js';
import { distPath, toolPath } from '../launcher/repo.js';
import { waitFor } from '../launcher/wait.js';
import { fmt, machineDescription } from './lib/stats.js';
import { medianRun, wrkWithCpu, type WrkCpuRun } from './lib/wrk.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const line = (s = ''): void => void process.stdout.write(`${s}\n`);
const KEY = 'mgk_gateway_bench_key';
const policy = `policies:\n  keys:\n    credentials:\n      - type: api_key\n        keys: [{id: k1, sha256: ${sha256(KEY).toString('hex')}, subject: bench, scopes: [chat]}]\n`;

line('ext_authz through the gateway');
line(machineDescription({ envoy: toolPath('envoy'), wrk: toolPath('wrk') }));
line(`wrk -t1, ${SECONDS}s per run, ${REPS} runs of each in turns, medians; Envoy --concurrency 1, a node upstream, ext-authz, wrk: all on the 2 cores; decision log on`);

const mesh = await startGatewayMesh({ authzPolicy: policy });
try {
  const upstream = await mesh.addInstance({ service: 'echo', id: 'echo-1', meta: { 'gateway-path': '/open,/closed', 'auth-policy': 'keys,/open=none' } });
  await waitFor('both routes', async () => (await fetch(`${mesh.gatewayUrl}/open`)).ok && (await fetch(`${mesh.gatewayUrl}/closed`, { headers: { 'x-api-key': KEY } })).ok, { timeoutMs: 20_000, intervalMs: 200 });

  let authzPid = mesh.authz!.process.pid;
  type Run = WrkCpuRun;
  const measure = (path: string, headers: Record<string, string>, c: number): Run =>
    wrkWithCpu(`${mesh.gatewayUrl}${path}`, headers, c, SECONDS, { envoy: mesh.envoy.process.pid, 'ext-authz': authzPid, upstream: upstream.process.pid });
  const summary = medianRun;
  const cpuText = (r: Run): string =>
    Object.entries(r.cpu)
      .filter(([k]) => !k.endsWith('(kernel)'))
      .map(([k, v]) => `${k} ${v.toFixed(0)} (kernel ${r.cpu[`${k} (kernel)`]!.toFixed(0)})`)
      .join(', ');
  const results = new Map<string, Run>();
  const runAll = (label: string, path: string, headers: Record<string, string>) => {
    for (const c of [1, 10]) {
      const runs: Run[] = [];
      for (let i = 0; i < REPS; i++) runs.push(measure(path, headers, c));
      results.set(`${label}/${c}`, summary(runs));
    }
  };
  // Off and on take turns per repetition so that a slow spell falls on both.
  for (const c of [1, 10]) {
    const off: Run[] = [];
    const on: Run[] = [];
    for (let i = 0; i < REPS; i++) {
      off.push(measure('/open', {}, c));
      on.push(measure('/closed', { 'x-api-key': KEY }, c));
    }
    results.set(`off/${c}`, summary(off));
    results.set(`ext-authz/${c}`, summary(on));
  }

  // The constant server in ext-authz's place: SIGKILL keeps the Consul registration, whose gRPC
  // check the constant server then answers.
  await mesh.authz!.stop('SIGKILL');
  const floor = startProcess('constant-authz', process.execPath, { args: [distPath('bench', 'lib', 'constant-grpc-server.js'), String(mesh.ports.authz), 'meshgate'] });
  try {
    await waitFor('the constant server to answer for ext-authz', async () => (await fetch(`${mesh.gatewayUrl}/closed`)).status === 200, { timeoutMs: 30_000, intervalMs: 200 });
    authzPid = floor.pid;
    runAll('constant', '/closed', {});
  } finally {
    await floor.stop();
  }

  line();
  for (const c of [1, 10]) {
    const off = results.get(`off/${c}`)!;
    line(`${c} connection${c > 1 ? 's' : ''}: ext_authz off ${Math.round(off.rps)}/s, p50 ${fmt(off.p50)} ms, p99 ${fmt(off.p99)} ms; CPU µs per request: ${cpuText(off)}`);
    for (const label of ['ext-authz', 'constant']) {
      const on = results.get(`${label}/${c}`)!;
      line(
        `  on, ${label === 'ext-authz' ? 'meshgate ext-authz' : 'a constant "allowed"'}: ${Math.round(on.rps)}/s (kept ${((on.rps / off.rps) * 100).toFixed(0)}%), p50 ${fmt(on.p50)} ms, p99 ${fmt(on.p99)} ms — added p50 ${fmt(on.p50 - off.p50)} ms, p99 ${fmt(on.p99 - off.p99)} ms; CPU µs per request: ${cpuText(on)}`,
      );
    }
  }
  const envoyAdded = (c: number) => results.get(`constant/${c}`)!.cpu['envoy']! - results.get(`off/${c}`)!.cpu['envoy']!;
  line();
  line(`Envoy's own extra CPU per protected request (ext_authz filter, gRPC client, HTTP/2 to the server): ${envoyAdded(1).toFixed(0)} µs on 1 connection, ${envoyAdded(10).toFixed(0)} µs on 10`);
} finally {
  await mesh.stop();
}
