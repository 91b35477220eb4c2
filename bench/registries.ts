// Registries: how long from a change in each registry until a real Envoy has it, and what a
// large registry costs the xds-server.
//
//   1. propagation: one xds-server reads Consul, ZooKeeper and Eureka at once (Eureka polled at
//      the default 2 s), a real gateway Envoy; per registry, --reps health flips (Consul: a TTL
//      check pass↔fail; ZooKeeper: instance_status UP↔OUT_OF_SERVICE; Eureka: the status
//      override) and --reps new instances, each timed until Envoy's /clusters shows it.
//   2. scale: 1,000 services × 5 instances in one registry at a time (the others empty), a fresh
//      xds-server: time and CPU to its first full sync (/readyz), against an empty registry; then
//      a gateway Envoy on it and --scale-changes health flips of one instance: time to Envoy, and
//      the xds-server's CPU per change.
//
//   node dist/bench/registries.js [--reps 50] [--services 1000] [--instances 5] [--scale-changes 10]
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { startConsul, tempDir, type ConsulAgent } from '../launcher/consul-agent.js';
import { startGatewayEnvoy } from '../launcher/envoy-roles.js';
import type { EnvoyProcess } from '../launcher/envoy.js';
import { EurekaServer } from '../launcher/eureka.js';
import { freePorts } from '../launcher/ports.js';
import { repoRoot, toolPath } from '../launcher/repo.js';
import { sleep, waitFor } from '../launcher/wait.js';
import { startXdsServer, type XdsServerProcess } from '../launcher/xds-server.js';
import { ZooKeeperServer } from '../launcher/zookeeper.js';
import { EurekaRest } from '../test/helpers/eureka-rest.js';
import { TestZooKeeper } from '../test/helpers/zookeeper-client.js';
import { cpuSeconds } from './lib/proc.js';
import { machineDescription, summarize, summaryLine } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '50' },
    services: { type: 'string', default: '1000' },
    instances: { type: 'string', default: '5' },
    'scale-changes': { type: 'string', default: '10' },
  },
});
const REPS = Number(values.reps);
const SERVICES = Number(values.services);
const INSTANCES = Number(values.instances);
const SCALE_CHANGES = Number(values['scale-changes']);
const EUREKA_INTERVAL_MS = 2_000;

type Registry = 'consul' | 'zookeeper' | 'eureka';
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const dir = tempDir('bench-registries');

/** One instance's health, or its presence, in each registry: the same operations for every one. */
interface Changer {
  add(service: string, id: string, address: string, port: number, healthy: boolean): Promise<void>;
  setHealthy(service: string, id: string, address: string, port: number, healthy: boolean): Promise<void>;
}

function consulChanger(consul: ConsulAgent): Changer {
  return {
    async add(service, id, address, port, healthy) {
      await consul.api.register({ ID: id, Name: service, Address: address, Port: port, Check: { CheckID: `ttl-${id}`, TTL: '1h' } as never });
      await consul.api.ttl(`ttl-${id}`, healthy ? 'pass' : 'fail');
    },
    setHealthy: (_s, id, _a, _p, healthy) => consul.api.ttl(`ttl-${id}`, healthy ? 'pass' : 'fail'),
  };
}

function zookeeperChanger(zk: TestZooKeeper): Changer {
  return {
    add: (service, id, address, port, healthy) => zk.register(service, { id, address, port, healthy }),
    setHealthy: (service, id, address, port, healthy) => zk.update(service, { id, address, port, healthy }),
  };
}

function eurekaChanger(eureka: EurekaServer, rest: EurekaRest): Changer {
  return {
    add: (service, id, address, port, healthy) => rest.register({ app: service, id, address, port, status: healthy ? 'UP' : 'DOWN' }),
    async setHealthy(service, id, _a, _p, healthy) {
      // The operators' status override, as a client's service registry sets it.
      const url = `${eureka.url}/apps/${service.toUpperCase()}/${id}/status?value=${healthy ? 'UP' : 'OUT_OF_SERVICE'}`;
      const res = await fetch(url, { method: healthy ? 'DELETE' : 'PUT' });
      if (!res.ok) throw new Error(`eureka status override: ${res.status}`);
    },
  };
}

type Host = { address: string; healthy: boolean };
async function hosts(envoy: EnvoyProcess, cluster: string): Promise<Host[]> {
  return (await envoy.admin.clusters()).get(cluster) ?? [];
}

/** Poll Envoy's admin back to back until `done` holds; the ms since `start`. */
async function until(envoy: EnvoyProcess, start: bigint, cluster: string, done: (h: Host[]) => boolean, limitMs = 15_000): Promise<number> {
  for (;;) {
    if (done(await hosts(envoy, cluster))) return Number(process.hrtime.bigint() - start) / 1e6;
    if (Number(process.hrtime.bigint() - start) / 1e6 > limitMs) throw new Error(`change in ${cluster} did not arrive within ${limitMs} ms`);
  }
}

/** Flip one instance's health `reps` times, then add `reps` instances: the times to Envoy. */
async function propagation(envoy: EnvoyProcess, changer: Changer, service: string, portBase: number): Promise<{ flip: number[]; add: number[] }> {
  const at = `127.0.0.1:${portBase}`;
  await changer.add(service, `${service}-0`, '127.0.0.1', portBase, true);
  await waitFor(`${service}-0 healthy in Envoy`, async () => (await hosts(envoy, service)).some((h) => h.address === at && h.healthy), { timeoutMs: 20_000 });
  const flip: number[] = [];
  let healthy = true;
  for (let i = 0; i < REPS; i++) {
    healthy = !healthy;
    const start = process.hrtime.bigint();
    await changer.setHealthy(service, `${service}-0`, '127.0.0.1', portBase, healthy);
    flip.push(await until(envoy, start, service, (h) => h.find((x) => x.address === at)?.healthy === healthy));
    await sleep(20);
  }
  const add: number[] = [];
  for (let i = 1; i <= REPS; i++) {
    const address = `127.0.0.1:${portBase + i}`;
    const start = process.hrtime.bigint();
    await changer.add(service, `${service}-${i}`, '127.0.0.1', portBase + i, true);
    add.push(await until(envoy, start, service, (h) => h.some((x) => x.address === address)));
  }
  return { flip, add };
}

/** Run `work` over `items` with `concurrency` at once. */
async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

const serviceName = (i: number): string => `svc-${String(i).padStart(4, '0')}`;

async function startXds(consul: ConsulAgent, args: string[], log: string): Promise<{ xds: XdsServerProcess; readyMs: number; readyCpuS: number }> {
  const [xdsPort, adminPort] = (await freePorts(2)) as [number, number];
  const started = process.hrtime.bigint();
  const xds = await startXdsServer({ consulAddress: consul.address, xdsPort, adminPort, logFile: `${dir}/${log}.log`, env: { LOG_LEVEL: 'warn' }, extraArgs: args });
  await waitFor('the first full sync', async () => (await fetch(`${xds.adminUrl}/readyz`).catch(() => undefined))?.status === 200, { timeoutMs: 120_000, intervalMs: 10 });
  return { xds, readyMs: Number(process.hrtime.bigint() - started) / 1e6, readyCpuS: cpuSeconds(xds.process.pid) };
}

const stops: Array<() => Promise<void>> = [];
try {
  const [zkPort, eurekaPort] = (await freePorts(2)) as [number, number];
  const consul = await startConsul({ logFile: `${dir}/consul.log` });
  stops.push(() => consul.stop());
  const zk = await new ZooKeeperServer({ port: zkPort, dir, logFile: `${dir}/zookeeper.log` }).start();
  stops.push(() => zk.stop());
  const eureka = await new EurekaServer({ port: eurekaPort, logFile: `${dir}/eureka.log` }).start();
  stops.push(() => eureka.stop());
  const zkClient = await TestZooKeeper.connect(zk.connect);
  stops.push(async () => zkClient.close());
  const rest = new EurekaRest(eureka.url);
  const changers: Record<Registry, Changer> = { consul: consulChanger(consul), zookeeper: zookeeperChanger(zkClient), eureka: eurekaChanger(eureka, rest) };

  out('registries: a change in each registry → a real Envoy (admin /clusters), and a large registry read in full');
  out(machineDescription({ envoy: toolPath('envoy'), consul: toolPath('consul') }));
  out(`ZooKeeper ${fs.readdirSync(path.join(repoRoot(), '.tools', 'zookeeper', 'lib')).join(' ').match(/zookeeper-(\d[\d.]*)\.jar/)?.[1] ?? '?'} (standalone, tick 500 ms); Spring Cloud Netflix's Eureka server (Spring Cloud 2025.0.0), read-only response cache off`);
  out(`xds-server: this checkout, ${execFileSync('git', ['log', '-1', '--format=%h'], { encoding: 'utf8' }).trim()}; default debounce (20 ms quiet, 50 ms max); Eureka polled every ${EUREKA_INTERVAL_MS} ms (the default)`);
  out('everything (registries, xds-server, Envoy, this process) on the same cores');

  // 1. Propagation, the three side by side on one xds-server and one Envoy.
  {
    const { xds } = await startXds(consul, [`--zookeeper=${zk.connect}`, `--eureka=${eureka.url}`, `--eureka-interval=${EUREKA_INTERVAL_MS}ms`], 'xds-propagation');
    const [gateway, envoyAdmin] = (await freePorts(2)) as [number, number];
    const envoy = await startGatewayEnvoy({ nodeId: 'bench-registries', port: gateway, adminPort: envoyAdmin, xds: { host: '127.0.0.1', port: Number(xds.xdsAddress.split(':')[1]) }, workDir: dir, logFile: `${dir}/envoy.log` });
    try {
      out('');
      out(`1. propagation (${REPS} health flips, then ${REPS} new instances, per registry)`);
      for (const [n, r] of (['consul', 'zookeeper', 'eureka'] as const).entries()) {
        const { flip, add } = await propagation(envoy, changers[r], `prop-${r}`, 30_000 + n * 1_000);
        out(summaryLine(`${r}: health flip → Envoy`, summarize(flip)));
        out(summaryLine(`${r}: new instance → Envoy`, summarize(add)));
      }
    } finally {
      await envoy.stop();
      await xds.stop();
    }
  }

  // 2. Scale: one registry at a time holds SERVICES × INSTANCES; the others hold nothing of it.
  out('');
  out(`2. scale (${SERVICES} services × ${INSTANCES} instances in one registry; a fresh xds-server reads it)`);
  const empty = await startXds(consul, [`--zookeeper=${zk.connect}/empty`, `--eureka=${eureka.url}`], 'xds-empty');
  await empty.xds.stop();
  out(`   an xds-server with nothing to read: ready in ${empty.readyMs.toFixed(0)} ms, ${(empty.readyCpuS * 1000).toFixed(0)} ms CPU (its start-up)`);
  for (const r of ['zookeeper', 'eureka', 'consul'] as const) {
    const changer = changers[r];
    const base = 40_000;
    const registered = Date.now();
    const all = Array.from({ length: SERVICES * INSTANCES }, (_, n) => n);
    await inParallel(all, 16, (n) => {
      const i = n % SERVICES;
      const k = Math.floor(n / SERVICES);
      return changer.add(`${r}-${serviceName(i)}`, `${r}-${serviceName(i)}-${k}`, `10.${k}.${(i >> 8) & 255}.${i & 255}`, base + k, true);
    });
    const registeredS = (Date.now() - registered) / 1000;
    const args = r === 'zookeeper' ? [`--zookeeper=${zk.connect}`] : r === 'eureka' ? [`--eureka=${eureka.url}`, `--eureka-interval=${EUREKA_INTERVAL_MS}ms`] : [];
    const { xds, readyMs, readyCpuS } = await startXds(consul, args, `xds-scale-${r}`);
    const [gateway, envoyAdmin] = (await freePorts(2)) as [number, number];
    const envoy = await startGatewayEnvoy({ nodeId: `bench-scale-${r}`, port: gateway, adminPort: envoyAdmin, xds: { host: '127.0.0.1', port: Number(xds.xdsAddress.split(':')[1]) }, workDir: dir, logFile: `${dir}/envoy-${r}.log` });
    try {
      const hot = `${r}-${serviceName(0)}`;
      const at = `10.0.0.0:${base}`;
      await waitFor('the hot service in Envoy', async () => (await hosts(envoy, hot)).some((h) => h.address === at), { timeoutMs: 60_000 });
      await sleep(2_000);
      const times: number[] = [];
      const cpu: number[] = [];
      let healthy = true;
      for (let c = 0; c < SCALE_CHANGES; c++) {
        healthy = !healthy;
        const cpuBefore = cpuSeconds(xds.process.pid);
        const start = process.hrtime.bigint();
        await changer.setHealthy(hot, `${hot}-0`, '10.0.0.0', base, healthy);
        times.push(await until(envoy, start, hot, (h) => h.find((x) => x.address === at)?.healthy === healthy, 30_000));
        await sleep(200); // the rest of the change's work (other roles, a late debounce)
        cpu.push((cpuSeconds(xds.process.pid) - cpuBefore) * 1000);
      }
      out(`   ${r}: registered in ${registeredS.toFixed(1)} s; the xds-server ready (first full sync) in ${readyMs.toFixed(0)} ms, ${(readyCpuS * 1000).toFixed(0)} ms CPU`);
      out(summaryLine(`   ${r}: one health flip → Envoy`, summarize(times)));
      out(summaryLine(`   ${r}: xds-server CPU per change (incl. 200 ms after)`, summarize(cpu)));
    } finally {
      await envoy.stop();
      await xds.stop();
    }
  }
  out('');
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
}
