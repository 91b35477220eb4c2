// A simulated fleet against one xds-server: a real Consul holding S services × I instances
// (every service's sidecar calls svc-0000 and three neighbours), and lightweight ADS clients
// (bench/lib/fleet-worker.ts), each on its own HTTP/2 connection. For state of the world and
// for delta:
//   sidecars (S × I clients, one per instance; S distinct roles)
//     - the time for the fleet to connect and receive its config, and the bytes sent;
//     - one endpoint change of svc-0000, which every sidecar calls: the time until each one has
//       the new ClusterLoadAssignment (p50, p99, and until the last one has it), the bytes and
//       responses sent, the server's CPU for it;
//     - one endpoint change of a service three roles call: how many responses that sends;
//     - the server's resident memory idle and with every stream open;
//     - the xds-server restarted under the whole fleet: how long until every sidecar, reconnecting
//       with Envoy's jittered back-off, has its config again (the reconnect storm a real fleet
//       sees), and how many connections failed on the way;
//   gateways (G clients holding the whole mesh: S clusters, S endpoint sets)
//     - one endpoint change, and one new service (a cluster change): time and bytes per gateway,
//       where delta and state of the world differ most.
//
//   node dist/bench/fleet.js [--services 1000] [--instances 5] [--gateways 50] [--changes 20] [--api both]
//   BENCH_BASELINE=<a built checkout> runs that checkout's xds-server instead (the same clients).
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { startConsul, tempDir, type ConsulAgent } from '../launcher/consul-agent.js';
import { freePorts } from '../launcher/ports.js';
import { distPath, toolPath } from '../launcher/repo.js';
import { sleep, waitFor } from '../launcher/wait.js';
import { startXdsServer, type XdsServerProcess } from '../launcher/xds-server.js';
import { serviceName, type WorkerConfig } from './lib/fleet-config.js';
import { cpuSeconds, rssBytes } from './lib/proc.js';
import { machineDescription, summarize, summaryLine } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    instances: { type: 'string', default: '5' },
    gateways: { type: 'string', default: '50' },
    changes: { type: 'string', default: '20' },
    api: { type: 'string', default: 'both' },
    workers: { type: 'string', default: '2' },
  },
});
const SERVICES = Number(values.services);
const INSTANCES = Number(values.instances);
const GATEWAYS = Number(values.gateways);
const CHANGES = Number(values.changes);
const WORKERS = Number(values.workers);
const SIDECARS = SERVICES * INSTANCES;
const HOT = serviceName(0);
/** Every sidecar but the hot service's own calls the hot service. */
const CALLERS = SIDECARS - INSTANCES;
const apis = values.api === 'both' ? (['sotw', 'delta'] as const) : [values.api as 'sotw' | 'delta'];
type Api = (typeof apis)[number];

const BASELINE = process.env['BENCH_BASELINE'];
const out = (line = ''): boolean => process.stdout.write(`${line}\n`);
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(bytes < 10_240 ? 1 : 0)} KiB`;

const rssMiB = (pid: number): number => rssBytes(pid) / 2 ** 20;

/** The upstreams of service i: the hot one everybody calls, and the next three. */
function upstreams(i: number): string {
  return [HOT, ...[1, 2, 3].map((d) => serviceName((i + d) % SERVICES))].filter((s) => s !== serviceName(i)).join(',');
}

/** Catalog registration without checks: Consul counts such instances as passing. */
async function register(consul: ConsulAgent, service: string, i: number, k: number, port: number): Promise<void> {
  const address = `10.${k}.${(i >> 8) & 255}.${i & 255}`;
  const res = await fetch(`http://${consul.address}/v1/catalog/register`, {
    method: 'PUT',
    body: JSON.stringify({
      Node: `fleet-node-${k}`,
      Address: address,
      Service: { ID: `${service}-${k}`, Service: service, Address: address, Port: port, Meta: { upstreams: upstreams(i) } },
    }),
  });
  if (!res.ok) throw new Error(`register ${service}-${k}: ${res.status} ${await res.text()}`);
}

async function metric(xds: XdsServerProcess, name: string): Promise<number> {
  const text = await (await fetch(`${xds.adminUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

interface Fleet {
  readonly size: number;
  readonly synced: Set<number>;
  /** Clients back in sync after a reconnect → when (wall clock ms). */
  readonly resynced: Map<number, number>;
  /** Watched resource → client → when it arrived, and the response's size. */
  readonly seen: Map<string, Map<number, { at: number; bytes: number }>>;
  /** Stream failures by message (each is followed by a reconnect). */
  readonly errors: Map<string, number>;
  readonly workers: ChildProcess[];
}

const errorSummary = (errors: ReadonlyMap<string, number>): string =>
  [...errors].map(([m, n]) => `${n}× ${m}`).join('; ') || 'none';

function startFleet(xds: string, api: Api, role: WorkerConfig['role'], size: number, watch: WorkerConfig['watch']): Fleet {
  const fleet: Fleet = { size, synced: new Set(), resynced: new Map(), seen: new Map(watch.map((w) => [w.name, new Map()])), errors: new Map(), workers: [] };
  const workers = Math.min(WORKERS, size);
  const per = Math.ceil(size / workers);
  for (let w = 0; w < workers; w++) {
    const config: WorkerConfig = { xds, api, from: w * per, to: Math.min(size, (w + 1) * per), services: SERVICES, role, watch };
    const child = spawn(process.execPath, ['--max-old-space-size=4096', distPath('bench', 'lib', 'fleet-worker.js'), JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    fleet.workers.push(child);
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as { t: string; c: number; n?: string; at?: number; b?: number; m?: string; r?: number };
      if (m.t === 'synced') {
        fleet.synced.add(m.c);
        if (m.r) fleet.resynced.set(m.c, performance.timeOrigin + performance.now());
      } else if (m.t === 'hot') fleet.seen.get(m.n!)!.set(m.c, { at: m.at!, bytes: m.b! });
      else if (m.t === 'error') fleet.errors.set(m.m!, (fleet.errors.get(m.m!) ?? 0) + 1);
    });
  }
  return fleet;
}

async function stopFleet(fleet: Fleet): Promise<void> {
  await Promise.all(fleet.workers.map((w) => new Promise<void>((resolve) => (w.exitCode !== null ? resolve() : (w.once('exit', () => resolve()), w.kill('SIGTERM'))))));
}

/** Connect a fleet and wait until every client has its config; prints time, bytes and CPU. */
async function connect(xds: XdsServerProcess, port: number, api: Api, role: WorkerConfig['role'], size: number, watch: WorkerConfig['watch']): Promise<Fleet> {
  const pid = xds.process.pid!;
  const cpu0 = cpuSeconds(pid);
  const bytes0 = await metric(xds, 'meshgate_xds_pushed_bytes_total');
  const t0 = Date.now();
  const fleet = startFleet(`127.0.0.1:${port}`, api, role, size, watch);
  await waitFor(`${size} ${role}s to receive their config`, () => fleet.synced.size === size, { timeoutMs: 300_000, intervalMs: 100 }).catch(async (err: Error) => {
    await stopFleet(fleet);
    throw new Error(`${err.message} (${fleet.synced.size} did; stream failures: ${errorSummary(fleet.errors)})`);
  });
  const seconds = (Date.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  const bytes = (await metric(xds, 'meshgate_xds_pushed_bytes_total')) - bytes0;
  out(
    `connect and sync ${size} ${role}s: ${seconds.toFixed(1)} s; ${(bytes / 2 ** 20).toFixed(1)} MiB sent (${kib(bytes / size)} each); server CPU ${cpu.toFixed(1)} s; stream failures (then reconnected): ${errorSummary(fleet.errors)}`,
  );
  fleet.errors.clear();
  return fleet;
}

interface ChangeResult {
  readonly latencies: number[];
  readonly last: number;
  readonly bytes: number;
  readonly responses: number;
  readonly cpu: number;
  /** Server time resolving, translating and encoding snapshots for the change (ms). */
  readonly buildMs: number;
  /** Role snapshots that were translated for it. */
  readonly builds: number;
}

/** Time spent resolving the mesh and building role snapshots (a baseline without a resolve stage counts it inside the builds). */
async function buildSeconds(xds: XdsServerProcess): Promise<{ seconds: number; count: number }> {
  const seconds = (await metric(xds, 'meshgate_xds_snapshot_build_seconds_sum')) + (await metric(xds, 'meshgate_xds_resolve_seconds_sum'));
  return { seconds, count: await metric(xds, 'meshgate_xds_snapshot_build_seconds_count') };
}

/** Make a change, wait until `expected` clients have `watched`, and measure what it cost. */
async function measureChange(xds: XdsServerProcess, fleet: Fleet, watched: string, expected: number, change: () => Promise<void>): Promise<ChangeResult> {
  const pid = xds.process.pid!;
  const seen = fleet.seen.get(watched)!;
  seen.clear();
  const b0 = await metric(xds, 'meshgate_xds_pushed_bytes_total');
  const p0 = await metric(xds, 'meshgate_xds_pushes_total');
  const t0 = await buildSeconds(xds);
  const c0 = cpuSeconds(pid);
  const at = performance.timeOrigin + performance.now();
  await change();
  await waitFor(`${expected} clients to get ${watched}`, () => seen.size >= expected, { timeoutMs: 60_000, intervalMs: 5 });
  const latencies = [...seen.values()].map((s) => s.at - at);
  await sleep(300); // let the ACKs land
  // CPU before scraping /metrics: a scrape walks every open handle (thousands of streams).
  const cpu = cpuSeconds(pid) - c0;
  const t1 = await buildSeconds(xds);
  return {
    latencies,
    last: Math.max(...latencies),
    bytes: (await metric(xds, 'meshgate_xds_pushed_bytes_total')) - b0,
    responses: (await metric(xds, 'meshgate_xds_pushes_total')) - p0,
    cpu,
    buildMs: (t1.seconds - t0.seconds) * 1000,
    builds: t1.count - t0.count,
  };
}

/**
 * Restart the xds-server under the connected fleet and time the reconnect storm: from the new
 * server listening until every client has its config again.
 */
async function stormPhase(fleet: Fleet, restart: () => Promise<XdsServerProcess>): Promise<XdsServerProcess> {
  fleet.resynced.clear();
  fleet.errors.clear();
  const down = performance.timeOrigin + performance.now();
  const xds = await restart();
  const up = performance.timeOrigin + performance.now();
  await waitFor(`${fleet.size} clients back in sync after the restart`, () => fleet.resynced.size === fleet.size, { timeoutMs: 300_000, intervalMs: 100 }).catch((err: Error) => {
    throw new Error(`${err.message} (${fleet.resynced.size} are; stream failures: ${errorSummary(fleet.errors)})`);
  });
  const after = [...fleet.resynced.values()].map((at) => at - up);
  out(`xds-server restarted under ${fleet.size} clients (down ${((up - down) / 1000).toFixed(1)} s): back in sync after it listened`);
  out(summaryLine('  each client', summarize(after)));
  const failures = [...fleet.errors].filter(([m]) => !/stream ended|ECONNREFUSED/.test(m));
  out(`  stream failures: ${errorSummary(fleet.errors)}; beyond the restart's own: ${failures.length ? errorSummary(new Map(failures)) : 'none'}`);
  return xds;
}

async function sidecarPhase(consul: ConsulAgent, xds: XdsServerProcess, port: number, api: Api, restart: () => Promise<XdsServerProcess>): Promise<XdsServerProcess> {
  const pid = xds.process.pid!;
  const idle = rssMiB(pid);
  const fleet = await connect(xds, port, api, 'sidecar', SIDECARS, [{ type: 'endpoint', name: HOT }]);
  try {
    await sleep(2_000);
    const withStreams = rssMiB(pid);
    out(`xds-server RSS: ${idle.toFixed(0)} MiB with the mesh loaded, ${withStreams.toFixed(0)} MiB with ${await metric(xds, 'meshgate_xds_connected_proxies')} streams open (${(((withStreams - idle) * 1024) / SIDECARS).toFixed(1)} KiB per stream)`);
    const results: ChangeResult[] = [];
    for (let rep = 0; rep < CHANGES; rep++) {
      // svc-0000's instance 0 moves to another port.
      results.push(await measureChange(xds, fleet, HOT, CALLERS, () => register(consul, HOT, 0, 0, 21_000 + rep)));
    }
    out(summaryLine(`endpoint change → each of ${CALLERS} sidecars (${CHANGES}×)`, summarize(results.flatMap((r) => r.latencies))));
    out(summaryLine('endpoint change → the last sidecar has it', summarize(results.map((r) => r.last))));
    out(
      `per change: ${mean(results.map((r) => r.responses)).toFixed(0)} responses, ${kib(mean(results.map((r) => r.bytes)))} (${(mean(results.map((r) => r.bytes)) / CALLERS).toFixed(0)} bytes per sidecar), server CPU ${(mean(results.map((r) => r.cpu)) * 1000).toFixed(0)} ms for the change, its pushes and the ACKs`,
    );
    out(`  of which resolving and translating (with encoding): ${mean(results.map((r) => r.buildMs)).toFixed(1)} ms per change, ${mean(results.map((r) => r.builds)).toFixed(0)} role snapshots built`);
    // A service only the three roles before it call.
    const narrow = serviceName(Math.floor(SERVICES / 2));
    const p0 = await metric(xds, 'meshgate_xds_pushes_total');
    const b0 = await metric(xds, 'meshgate_xds_pushed_bytes_total');
    await register(consul, narrow, Math.floor(SERVICES / 2), 0, 22_000 + (api === 'sotw' ? 0 : 1));
    await sleep(1_500);
    const responses = (await metric(xds, 'meshgate_xds_pushes_total')) - p0;
    const bytes = (await metric(xds, 'meshgate_xds_pushed_bytes_total')) - b0;
    out(`endpoint change of ${narrow} (${3 * INSTANCES} sidecars call it): ${responses} responses, ${kib(bytes)}; the other ${SIDECARS - 3 * INSTANCES} hear nothing`);
    out(`xds-server RSS after the changes: ${rssMiB(pid).toFixed(0)} MiB (V8 heap used ${(((await metric(xds, 'nodejs_heap_size_used_bytes')) / 2 ** 20)).toFixed(0)} MiB, external ${(((await metric(xds, 'nodejs_external_memory_bytes')) / 2 ** 20)).toFixed(0)} MiB)`);
    return await stormPhase(fleet, restart);
  } finally {
    await stopFleet(fleet);
  }
}

async function gatewayPhase(consul: ConsulAgent, xds: XdsServerProcess, port: number, api: Api): Promise<void> {
  if (GATEWAYS === 0) return;
  const added = `svc-added-${api}`;
  const fleet = await connect(xds, port, api, 'gateway', GATEWAYS, [
    { type: 'endpoint', name: HOT },
    { type: 'cluster', name: added },
  ]);
  try {
    const endpoint: ChangeResult[] = [];
    for (let rep = 0; rep < Math.min(CHANGES, 10); rep++) endpoint.push(await measureChange(xds, fleet, HOT, GATEWAYS, () => register(consul, HOT, 0, 0, 23_000 + rep)));
    out(
      `endpoint change → ${GATEWAYS} gateways: last has it p50 ${summarize(endpoint.map((r) => r.last)).p50.toFixed(0)} ms; ${kib(mean(endpoint.map((r) => r.bytes)) / GATEWAYS)} per gateway; resolving and translating ${mean(endpoint.map((r) => r.buildMs)).toFixed(1)} ms per change`,
    );
    const cluster = await measureChange(xds, fleet, added, GATEWAYS, () => register(consul, added, SERVICES + 1, 0, 24_000));
    out(
      `new service (a cluster change) → ${GATEWAYS} gateways: last has it in ${cluster.last.toFixed(0)} ms; ${kib(cluster.bytes / GATEWAYS)} per gateway in ${(cluster.responses / GATEWAYS).toFixed(1)} responses`,
    );
  } finally {
    await stopFleet(fleet);
  }
}

const dir = tempDir('bench-fleet');
const consul = await startConsul({ logFile: `${dir}/consul.log` });
try {
  out(machineDescription({ consul: toolPath('consul') }));
  out(`mesh: ${SERVICES} services × ${INSTANCES} instances in Consul; every service's sidecar calls ${HOT} and 3 others`);
  out(`clients: ${SIDECARS} sidecars (${SERVICES} distinct roles), then ${GATEWAYS} gateways; ${WORKERS} worker processes, one HTTP/2 connection per client`);
  out('Consul, the xds-server and the clients share the machine');
  out(`xds-server: ${BASELINE ? `baseline ${execFileSync('git', ['-C', BASELINE, 'log', '-1', '--format=%h'], { encoding: 'utf8' }).trim()}` : `this checkout, ${execFileSync('git', ['log', '-1', '--format=%h'], { encoding: 'utf8' }).trim()}`}`);
  const started = Date.now();
  const queue = Array.from({ length: SIDECARS }, (_, n) => n);
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let n = queue.pop(); n !== undefined; n = queue.pop()) {
        const k = Math.floor(n / SERVICES);
        await register(consul, serviceName(n % SERVICES), n % SERVICES, k, 20_000 + k);
      }
    }),
  );
  out(`registered ${SIDECARS} instances in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  for (const api of apis) {
    const [xdsPort, adminPort] = (await freePorts(2)) as [number, number];
    const xdsOptions = {
      consulAddress: consul.address,
      xdsPort,
      adminPort,
      logFile: `${dir}/xds-${api}.log`,
      env: { LOG_LEVEL: process.env['XDS_LOG_LEVEL'] ?? 'warn' },
      // e.g. XDS_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to see where the server's time goes.
      ...(process.env['XDS_NODE_ARGS'] ? { nodeArgs: process.env['XDS_NODE_ARGS'].split(' ') } : {}),
      ...(BASELINE ? { distRoot: path.join(BASELINE, 'dist') } : {}),
    };
    let xds = await startXdsServer(xdsOptions);
    try {
      out(`\n-- ${api === 'sotw' ? 'state of the world' : 'delta'} --`);
      const known = SERVICES + (api === 'delta' && apis.length > 1 ? 1 : 0);
      await waitFor('the xds-server to see every service', async () => (await metric(xds, 'meshgate_mesh_services')) >= known, { timeoutMs: 120_000, intervalMs: 250 });
      xds = await sidecarPhase(consul, xds, xdsPort, api, async () => {
        await xds.stop();
        return startXdsServer(xdsOptions);
      });
      await gatewayPhase(consul, xds, xdsPort, api);
      out(`xds-server CPU over the whole run: ${cpuSeconds(xds.process.pid!).toFixed(1)} s`);
    } finally {
      await xds.stop();
    }
  }
} finally {
  await consul.stop();
  if (process.env['KEEP_BENCH_LOGS']) out(`logs kept in ${dir}`);
  else fs.rmSync(dir, { recursive: true, force: true });
}
