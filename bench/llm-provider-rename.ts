// What the processor's upstream stage adds to a call of a model that a provider knows by another
// name (a model-route's `Services: [{Service, Model}]`): every attempt on that model's cluster
// has one more ext_proc stream (request headers, then the attempt's body, renamed). Two models on
// the same upstream (the demo model service), one plain, one renamed, measured in turns, wrk
// closed loop, 1 KB bodies, on 1 connection (latency) and 10 (throughput), with the CPU the
// processor and Envoy spent per request.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGatewayMesh } from '../launcher/mesh.js';
import { toolPath } from '../launcher/repo.js';
import { waitFor } from '../launcher/wait.js';
import { fmt, machineDescription } from './lib/stats.js';
import { medianRun, wrkWithCpu, type WrkCpuRun } from './lib/wrk.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const line = (s = ''): void => void process.stdout.write(`${s}\n`);

line('the upstream stage: a model a provider knows by another name, against one it does not');
line(machineDescription({ envoy: toolPath('envoy'), wrk: toolPath('wrk') }));
line(`wrk -t1, ${SECONDS}s per run, ${REPS} runs of each in turns, medians; Envoy --concurrency 1, the node upstream, ext-proc, wrk: all on the 2 cores`);

const mesh = await startGatewayMesh({ llm: true });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-rename-bench-'));
try {
  const upstream = await mesh.addInstance({ service: 'chat', id: 'chat-1', meta: { models: 'plain-model', 'gateway-path': 'none' } });
  await mesh.consul.api.kvPut('meshgate/config/renamed', 'Kind: model-route\nName: renamed-model\nServices: [{Service: chat, Model: provider/renamed-model}]\n');
  const bodyOf = (model: string): string => JSON.stringify({ model, messages: [{ role: 'user', content: 'x'.repeat(1024 - 64) }] });
  const scriptFor = (model: string): string => {
    const file = path.join(dir, `${model}.lua`);
    fs.writeFileSync(file, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [[${bodyOf(model)}]]\n`);
    return file;
  };
  const answeredAs = async (model: string): Promise<string | undefined> => {
    const r = await fetch(`${mesh.gatewayUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodyOf(model) });
    return r.ok ? ((await r.json()) as { model: string }).model : undefined;
  };
  await waitFor('both models routed', async () => (await answeredAs('plain-model')) === 'plain-model' && (await answeredAs('renamed-model')) === 'provider/renamed-model', { timeoutMs: 20_000, intervalMs: 200 });

  const pids = { envoy: mesh.envoy.process.pid, 'ext-proc': mesh.llm!.process.pid, upstream: upstream.process.pid };
  const url = `${mesh.gatewayUrl}/v1/chat/completions`;
  const cpu = (r: WrkCpuRun) => ['envoy', 'ext-proc', 'upstream'].map((k) => `${k} ${r.cpu[k]!.toFixed(0)}`).join(', ');
  for (const c of [1, 10]) {
    const plain: WrkCpuRun[] = [];
    const renamed: WrkCpuRun[] = [];
    for (let i = 0; i < REPS; i++) {
      plain.push(wrkWithCpu(url, {}, c, SECONDS, pids, scriptFor('plain-model')));
      renamed.push(wrkWithCpu(url, {}, c, SECONDS, pids, scriptFor('renamed-model')));
    }
    const p = medianRun(plain);
    const r = medianRun(renamed);
    line(`  ${c} connection${c > 1 ? 's' : ''}: plain model ${Math.round(p.rps)}/s, p50 ${fmt(p.p50)} p99 ${fmt(p.p99)} ms; CPU µs/request ${cpu(p)}`);
    line(`    renamed model ${Math.round(r.rps)}/s (kept ${((r.rps / p.rps) * 100).toFixed(0)}%), p50 ${fmt(r.p50)} p99 ${fmt(r.p99)} ms — added p50 ${fmt(r.p50 - p.p50)} ms, p99 ${fmt(r.p99 - p.p99)} ms; CPU µs/request ${cpu(r)}`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
  await mesh.stop();
}
