// ratelimit-service against the reference envoyproxy/ratelimit (Go, from the Go module proxy),
// ShouldRateLimit under bench/grpc-load (a lean Go gRPC generator: pre-encoded requests,
// open-loop rates measured from each call's scheduled start), both on the same Redis.
//   services under test: pinned to CPU 0; the generator: CPU 1; Redis: either (BENCH_REDIS_CPUS).
//   workloads: one descriptor per request whose limit is never reached, so every request
//   increments a Redis counter — the path the comparison is about — either for 1,000 clients
//   in turn (no two requests in a row share a counter) or for one hot client (every request
//   increments the same counter: what a per-tenant or per-route limit looks like).
// Printed: fixed rates with p50/p99/p99.9, the maximum (closed loop, 200 calls in flight) with
// its p99, and CPU per request of the service itself; the services run side by side and take
// turns, several runs each (BENCH_REPS), so the machine's slow spells fall on all of them.
// Checked: the Redis counters add up to the requests answered OK, so no service is credited
// for answers it did not count.
// BENCH_BASELINE=<a checkout of another commit, built>: its ratelimit-service (Redis) runs as a
// fourth service in the same turns, for ratios against it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../launcher/consul-agent.js';
import { freePorts } from '../launcher/ports.js';
import { startProcess } from '../launcher/process.js';
import { startRatelimit } from '../launcher/ratelimit.js';
import { startReferenceRatelimit } from '../launcher/ratelimit-reference.js';
import { toolPath } from '../launcher/repo.js';
import { waitFor } from '../launcher/wait.js';
import { encodeMessage } from '../shared/proto/codec.js';
import { grpcLoad, inTurns, median, runsSummary, writeBodies, type LoadResult } from './lib/grpc-load.js';
import { cpuSeconds } from './lib/proc.js';
import { fmt, machineDescription } from './lib/stats.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const RATES = [1_000, 2_000, 5_000, 10_000];
const BASELINE = process.env['BENCH_BASELINE'];
const METHOD = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';
const line = (s = ''): void => void process.stdout.write(`${s}\n`);

const CONFIG = `
domain: bench
descriptors:
  - key: client
    rate_limit: {unit: hour, requests_per_unit: 4000000000}
`;
const request = (client: string): Uint8Array =>
  encodeMessage('envoy.service.ratelimit.v3.RateLimitRequest', { domain: 'bench', descriptors: [{ entries: [{ key: 'client', value: client }] }] });

interface Target {
  readonly name: string;
  start(port: number): Promise<{ pid: number; stop(): Promise<void> }>;
}

const dir = tempDir('bench-ratelimit');
fs.writeFileSync(path.join(dir, 'bench.yaml'), CONFIG);
const MANY_CLIENTS = path.join(dir, 'many.bodies');
const HOT_CLIENT = path.join(dir, 'hot.bodies');
writeBodies(MANY_CLIENTS, Array.from({ length: 1_000 }, (_, i) => request(`c${i}`)));
writeBodies(HOT_CLIENT, [request('hot')]);

const [redisPort] = (await freePorts(1)) as [number];
// Redis floats across both cores by default: pinned next to the load generator, its replies
// wait whenever the generator is busy, which puts that tail on whichever service is measured.
const REDIS_CPUS = process.env['BENCH_REDIS_CPUS'] ?? '0,1';
const redis = startProcess('redis', 'taskset', {
  args: ['-c', REDIS_CPUS, toolPath('redis-server'), '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  logFile: path.join(dir, 'redis.log'),
});
await waitFor('redis', () => redis.tail().includes('Ready to accept connections'), { timeoutMs: 10_000 });
const redisUrl = `127.0.0.1:${redisPort}`;
const redisCli = (...args: string[]): string => execFileSync(toolPath('redis-cli'), ['-p', String(redisPort), ...args], { encoding: 'utf8' }).trim();
/** Every counter in Redis, summed: what the service under test has counted. */
const countedInRedis = (): number => Number(redisCli('EVAL', "local s = 0 for _, k in ipairs(redis.call('KEYS', '*')) do s = s + tonumber(redis.call('GET', k)) end return s", '0'));

const reference: Target = {
  name: 'envoyproxy/ratelimit (Go), Redis',
  async start(port) {
    const r = await startReferenceRatelimit({
      grpcPort: port,
      redisUrl,
      configFiles: [{ name: 'bench.yaml', text: CONFIG }],
      workDir: dir,
      cpus: '0',
      logFile: path.join(dir, 'reference.log'),
    });
    return { pid: r.process.pid, stop: () => r.stop() };
  },
};

function meshgate(backend: 'redis' | 'memory', distRoot?: string): Target {
  return {
    name: `meshgate ratelimit-service, ${backend === 'redis' ? 'Redis' : 'memory'}${distRoot ? `, baseline (${execFileSync('git', ['-C', distRoot, 'log', '-1', '--format=%h'], { encoding: 'utf8' }).trim()})` : ''}`,
    async start(port) {
      const [admin] = (await freePorts(1)) as [number];
      const c = await startRatelimit({
        port,
        adminPort: admin,
        configPaths: [path.join(dir, 'bench.yaml')],
        ...(backend === 'redis' ? { redisUrl } : {}),
        cpus: '0',
        logFile: path.join(dir, `meshgate-${backend}${distRoot ? '-baseline' : ''}.log`),
        ...(distRoot ? { distRoot: path.join(distRoot, 'dist') } : {}),
      });
      return { pid: c.process.pid, stop: () => c.stop() };
    },
  };
}

interface Running {
  readonly target: Target;
  readonly pid: number;
  readonly address: string;
  readonly fixed: Map<number, LoadResult[]>;
  readonly max: Map<string, Array<{ result: LoadResult; cpuSeconds: number }>>;
  ok: number;
  stop(): Promise<void>;
}

const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const running: Running[] = [];
try {
  line('ratelimit-service benchmark: ShouldRateLimit, one descriptor, every request increments a counter');
  line(machineDescription({ 'redis-server': toolPath('redis-server') }));
  line(`bench/grpc-load ${SECONDS}s per run (fixed rates: open loop, 50 calls in flight at most on 2 connections; max: closed loop, 200 on 4), pinned to CPU 1; each service pinned to CPU 0; Redis on CPUs ${REDIS_CPUS}`);
  line(`the services run side by side and take turns: ${REPS} runs of each at every rate (the maximum: 2), so a slow spell of the machine falls on all of them; medians, with the p99's range`);
  redisCli('FLUSHALL');
  for (const target of [reference, meshgate('redis'), meshgate('memory'), ...(BASELINE ? [meshgate('redis', BASELINE)] : [])]) {
    const [port] = (await freePorts(1)) as [number];
    const svc = await target.start(port);
    running.push({ target, pid: svc.pid, address: `127.0.0.1:${port}`, fixed: new Map(), max: new Map(), ok: 0, stop: svc.stop });
  }
  const run = async (r: Running, bodies: string, rps: number, seconds: number, concurrency: number, connections: number): Promise<LoadResult> => {
    const result = await grpcLoad({ target: r.address, method: METHOD, cpus: '1', bodies, rps, seconds, concurrency, connections });
    r.ok += result.ok;
    return result;
  };
  for (const r of running) await run(r, MANY_CLIENTS, 2_000, 3, 50, 2); // warm up

  for (const rps of RATES) {
    const runs = await inTurns(running, REPS, (r) => run(r, MANY_CLIENTS, rps, SECONDS, 50, 2));
    for (const r of running) r.fixed.set(rps, runs.get(r)!);
  }
  for (const [label, bodies] of [['1,000 clients', MANY_CLIENTS], ['one hot client', HOT_CLIENT]] as const) {
    const runs = await inTurns(running, 2, async (r) => {
      const before = cpuSeconds(r.pid);
      const result = await run(r, bodies, 0, SECONDS, 200, 4);
      return { result, cpuSeconds: cpuSeconds(r.pid) - before };
    });
    for (const r of running) r.max.set(label, runs.get(r)!);
  }

  const cpuPerRequestUs = (runs: Array<{ result: LoadResult; cpuSeconds: number }>): number =>
    (runs.reduce((s, x) => s + x.cpuSeconds, 0) / runs.reduce((s, x) => s + x.result.count, 0)) * 1e6;
  for (const r of running) {
    line();
    line(r.target.name);
    for (const rps of RATES) line(`  ${`1,000 clients @ ${rps}/s`.padEnd(30)} ${runsSummary(r.fixed.get(rps)!)}`);
    for (const [label, runs] of r.max) {
      line(`  ${`${label}, max`.padEnd(30)} ${runsSummary(runs.map((x) => x.result))}`);
      const cpu = runs.reduce((s, x) => s + x.cpuSeconds, 0) / (runs.length * SECONDS);
      line(`  ${''.padEnd(30)} service CPU ${cpu.toFixed(2)} of one core, ${cpuPerRequestUs(runs).toFixed(0)} µs per request`);
    }
  }
  const [ref, ours, memory, baseline] = running as [Running, Running, Running, Running | undefined];
  const counted = countedInRedis();
  const redisOk = ref.ok + ours.ok + (baseline?.ok ?? 0);
  line();
  line(`counted in Redis: ${counted}; answered OK by the Redis services: ${redisOk}${counted === redisOk ? '' : '  ← MISMATCH'} (memory: ${memory.ok})`);
  if (baseline) {
    line();
    line(`meshgate (Redis) against its baseline ${baseline.target.name} (medians):`);
    for (const label of ['1,000 clients', 'one hot client']) {
      const rpsO = median(ours.max.get(label)!.map((x) => x.result.rps));
      const rpsB = median(baseline.max.get(label)!.map((x) => x.result.rps));
      line(`  ${label}: maximum throughput ${(rpsO / rpsB).toFixed(3)}× (${Math.round(rpsO)} against ${Math.round(rpsB)}/s)`);
    }
    for (const rps of RATES) {
      const o = ours.fixed.get(rps)!;
      const b = baseline.fixed.get(rps)!;
      line(`  1,000 clients @ ${rps}/s: p99 ${fmt(median(o.map((x) => x.p99ms)))} against ${fmt(median(b.map((x) => x.p99ms)))} ms (difference ${fmt(median(o.map((x) => x.p99ms)) - median(b.map((x) => x.p99ms)))} ms)`);
    }
  }
  line();
  line('meshgate (Redis) against the reference (Redis), same Redis, same pinning, same generator (medians):');
  for (const label of ['1,000 clients', 'one hot client']) {
    const o = ours.max.get(label)!;
    const r = ref.max.get(label)!;
    const rpsO = median(o.map((x) => x.result.rps));
    const rpsR = median(r.map((x) => x.result.rps));
    line(
      `  ${label}: maximum throughput ${(rpsO / rpsR).toFixed(2)}× (${Math.round(rpsO)} against ${Math.round(rpsR)}/s), p99 at the maximum ${fmt(median(o.map((x) => x.result.p99ms)))} against ${fmt(median(r.map((x) => x.result.p99ms)))} ms, CPU per request ${cpuPerRequestUs(o).toFixed(0)} against ${cpuPerRequestUs(r).toFixed(0)} µs`,
    );
  }
  for (const rps of RATES) {
    const o = ours.fixed.get(rps)!;
    const r = ref.fixed.get(rps)!;
    line(`  1,000 clients @ ${rps}/s: p50 ${fmt(median(o.map((x) => x.p50ms)))} against ${fmt(median(r.map((x) => x.p50ms)))} ms, p99 ${fmt(median(o.map((x) => x.p99ms)))} against ${fmt(median(r.map((x) => x.p99ms)))} ms`);
  }
} finally {
  for (const r of running) await r.stop();
  await redis.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
