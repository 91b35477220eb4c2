// Propagation: how long from a change in Consul until a real Envoy has it.
//   health: a TTL check flips passing ↔ critical; stop when Envoy's /clusters shows the
//           host's new health
//   add:    a new instance is registered; stop when Envoy's /clusters lists it
// Real Consul (-dev), the xds-server (default debounce) and a real gateway Envoy.
//   node dist/bench/propagation.js [--reps 50]
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { startConsul, tempDir } from '../launcher/consul-agent.js';
import { startGatewayEnvoy } from '../launcher/envoy-roles.js';
import { freePorts } from '../launcher/ports.js';
import { toolPath } from '../launcher/repo.js';
import { waitFor } from '../launcher/wait.js';
import { startXdsServer } from '../launcher/xds-server.js';
import { machineDescription, summarize, summaryLine } from './lib/stats.js';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '50' } } });
const reps = Number(values.reps);

const dir = tempDir('bench-propagation');
const [xdsPort, xdsAdmin, gateway, envoyAdmin] = (await freePorts(4)) as [number, number, number, number];
const consul = await startConsul({ logFile: `${dir}/consul.log` });
// BENCH_BASELINE=<a built checkout> measures that checkout's xds-server instead.
const baseline = process.env['BENCH_BASELINE'];
const xds = await startXdsServer({
  consulAddress: consul.address,
  xdsPort,
  adminPort: xdsAdmin,
  logFile: `${dir}/xds.log`,
  env: { LOG_LEVEL: 'warn' },
  ...(baseline ? { distRoot: `${baseline}/dist` } : {}),
});
const envoy = await startGatewayEnvoy({
  nodeId: 'bench',
  port: gateway,
  adminPort: envoyAdmin,
  xds: { host: '127.0.0.1', port: xdsPort },
  workDir: dir,
  logFile: `${dir}/envoy.log`,
});

type Host = { hostname: string; healthy: boolean };
async function hosts(cluster: string): Promise<Host[]> {
  return (await envoy.admin.clusters()).get(cluster) ?? [];
}

/** Poll Envoy's admin until `done` holds; returns elapsed ms since `start`. */
async function until(start: bigint, done: (h: Host[]) => boolean, cluster: string): Promise<number> {
  for (;;) {
    if (done(await hosts(cluster))) return Number(process.hrtime.bigint() - start) / 1e6;
    if (Number(process.hrtime.bigint() - start) > 10e9) throw new Error('change did not arrive within 10 s');
  }
}

try {
  // Two instances with TTL checks: their health is exactly what we set.
  for (const id of ['bench-1', 'bench-2']) {
    await consul.api.register({ ID: id, Name: 'bench', Address: '127.0.0.1', Port: id === 'bench-1' ? 10001 : 10002, Check: { CheckID: `ttl-${id}`, TTL: '10m' } as never });
    await consul.api.ttl(`ttl-${id}`, 'pass');
  }
  await waitFor('both bench hosts healthy in Envoy', async () => (await hosts('bench')).filter((h) => h.healthy).length === 2, { timeoutMs: 15_000 });

  const health: number[] = [];
  let healthy = true;
  for (let i = 0; i < reps; i++) {
    healthy = !healthy;
    const start = process.hrtime.bigint();
    await consul.api.ttl('ttl-bench-1', healthy ? 'pass' : 'fail');
    health.push(await until(start, (h) => h.find((x) => x.hostname === 'bench-1')?.healthy === healthy, 'bench'));
    await new Promise((r) => setTimeout(r, 20));
  }

  const add: number[] = [];
  for (let i = 0; i < reps; i++) {
    const id = `extra-${i}`;
    const start = process.hrtime.bigint();
    await consul.api.register({ ID: id, Name: 'bench', Address: '127.0.0.1', Port: 20000 + i });
    add.push(await until(start, (h) => h.some((x) => x.hostname === id), 'bench'));
  }

  process.stdout.write(
    [
      'propagation: Consul change → real Envoy (admin /clusters)',
      machineDescription({ envoy: toolPath('envoy'), consul: toolPath('consul') }),
      `xds-server: default debounce (20 ms quiet, 50 ms max); Envoy --concurrency 1; admin polled back to back`,
      summaryLine('health flip (TTL check pass↔fail)', summarize(health)),
      summaryLine('new instance registered → in Envoy', summarize(add)),
      '',
    ].join('\n'),
  );
} finally {
  await envoy.stop();
  await xds.stop();
  await consul.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
