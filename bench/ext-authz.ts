// ext-authz: Check throughput and latency under bench/grpc-load (a lean Go gRPC generator:
// pre-encoded requests, open-loop rates measured from each call's scheduled start), and what it
// adds to a request through the gateway: bench/gateway-authz.ts.
//   1. fixed rates (1,000 / 2,000 / 5,000 / 10,000 per second) for an API-key policy (1,000
//      keys in turn) and a JWT policy, beside two floors: the same load against a server that
//      answers a constant, on grpc-js and on the transport ext-authz uses (shared/h2); all four
//      take turns, three runs each (BENCH_REPS), medians;
//   2. the most checks per second with ext-authz pinned to one core (the generator on the
//      other), and CPU per check;
//   3. ext-authz's own decision time (decode to encode), from its histogram;
//   4. one uncached RS256 verification versus a cached one, in process;
// What ext_authz costs through the gateway is bench/gateway-authz.ts.
// BENCH_BASELINE=<a checkout of another commit, built>: its ext-authz runs beside this one, in
// the same turns, for ratios on this noisy machine (how the hardened transport compares).
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { JwksRegistry } from '../ext-authz/credentials/jwks-cache.js';
import { JwtCredential } from '../ext-authz/credentials/jwt.js';
import { sha256 } from '../ext-authz/credentials/secrets.js';
import { tempDir } from '../launcher/consul-agent.js';
import { startExtAuthz } from '../launcher/ext-authz.js';
import { freePorts } from '../launcher/ports.js';
import { toolPath } from '../launcher/repo.js';
import { waitFor } from '../launcher/wait.js';
import { AUDIENCE, ISSUER, jwks, sign, testKey } from '../test/helpers/jwt-keys.js';
import { startProcess } from '../launcher/process.js';
import { distPath } from '../launcher/repo.js';
import { encodeMessage } from '../shared/proto/codec.js';
import { grpcLoad, inTurns, runsSummary, writeBodies, type LoadResult } from './lib/grpc-load.js';
import { cpuSeconds } from './lib/proc.js';
import { fmt, machineDescription } from './lib/stats.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const BASELINE = process.env['BENCH_BASELINE'];
const dir = tempDir('bench-authz');
const line = (s = ''): void => void process.stdout.write(`${s}\n`);

const key = await testKey('bench-1');
const token = await sign(key, { sub: 'bench-user', scope: 'chat' });
const apiKeys = Array.from({ length: 1_000 }, (_, i) => `mgk_bench_${i}_${randomBytes(8).toString('hex')}`);
const policy = `
policies:
  keys:
    credentials:
      - type: api_key
        keys:
${apiKeys.map((k, i) => `          - {id: key-${i}, sha256: ${sha256(k).toString('hex')}, subject: caller-${i}, tenant: t${i % 10}, scopes: [chat]}`).join('\n')}
    rules: {allow: [{scopes: [chat]}]}
  tokens:
    credentials:
      - {type: jwt, issuer: "${ISSUER}", audiences: [${AUDIENCE}], algorithms: [RS256], jwks: ${JSON.stringify(jwks(key))}}
    rules: {allow: [{scopes: [chat]}]}
`;
fs.writeFileSync(path.join(dir, 'policy.yaml'), policy);

const checkRequest = (policyName: string, headers: Record<string, string>): Uint8Array =>
  encodeMessage('envoy.service.auth.v3.CheckRequest', {
    attributes: {
      request: { http: { id: 'bench', method: 'POST', path: '/v1/chat/completions', headers: { ':path': '/v1/chat/completions', ':method': 'POST', ...headers } } },
      context_extensions: { policy: policyName },
    },
  });
const API_KEY_CHECKS = path.join(dir, 'api-key.bodies');
const JWT_CHECKS = path.join(dir, 'jwt.bodies');
writeBodies(API_KEY_CHECKS, apiKeys.map((k) => checkRequest('keys', { 'x-api-key': k })));
writeBodies(JWT_CHECKS, [checkRequest('tokens', { authorization: `Bearer ${token}` })]);
const CHECK = '/envoy.service.auth.v3.Authorization/Check';
// BENCH_RATES=5000 (or empty: the maximum only) narrows a run.
const RATES = (process.env['BENCH_RATES'] ?? '1000,2000,5000,10000').split(',').filter(Boolean).map(Number);
const REPS = Number(process.env['BENCH_REPS'] ?? 3);

const row = (label: string, r: LoadResult): string =>
  `${label.padEnd(34)} ${String(Math.round(r.rps)).padStart(6)}/s  p50 ${fmt(r.p50ms).padStart(5)}  p90 ${fmt(r.p90ms).padStart(5)}  p99 ${fmt(r.p99ms).padStart(5)}  p99.9 ${fmt(r.p999ms).padStart(5)} ms  ok ${r.ok}/${r.count}${Object.keys(r.errors).length ? `  errors ${JSON.stringify(r.errors)}` : ''}`;

try {
  line('ext-authz benchmark');
  line(machineDescription({ envoy: toolPath('envoy') }));
  line(`bench/grpc-load ${SECONDS}s per run (fixed rates: open loop, 50 calls in flight at most on 2 connections; max: closed loop, 200 on 4), pinned to CPU 1; ext-authz and the floors pinned to CPU 0; decision log on (all)`);
  line();

  const [port, admin] = (await freePorts(2)) as [number, number];
  const authz = await startExtAuthz({ port, adminPort: admin, policyFiles: [path.join(dir, 'policy.yaml')], cpus: '0', logFile: path.join(dir, 'ext-authz.log') });
  const target = `127.0.0.1:${port}`;
  const base = { method: CHECK, target, cpus: '1' };
  let baseline: { target: string; pid: number; stop(): Promise<void> } | undefined;
  if (BASELINE) {
    const [bPort, bAdmin] = (await freePorts(2)) as [number, number];
    const b = await startExtAuthz({ port: bPort, adminPort: bAdmin, policyFiles: [path.join(dir, 'policy.yaml')], cpus: '0', logFile: path.join(dir, 'baseline.log'), distRoot: path.join(BASELINE, 'dist') });
    baseline = { target: `127.0.0.1:${bPort}`, pid: b.process.pid, stop: () => b.stop() };
    line(`baseline: ext-authz built from ${BASELINE} (${execFileSync('git', ['-C', BASELINE, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim()}), same pinning, taking turns`);
  }
  const fixedRate = { concurrency: 50, connections: 2 };
  const flatOut = { rps: 0, concurrency: 200, connections: 4 };
  try {
    const kinds: Array<[string, string]> = [
      ['API key (1,000 keys)', API_KEY_CHECKS],
      ['JWT (RS256)', JWT_CHECKS],
    ];
    for (const [, bodies] of kinds) await grpcLoad({ ...base, ...fixedRate, bodies, rps: 2_000, seconds: 3 }); // warm up
    if (baseline) for (const [, bodies] of kinds) await grpcLoad({ ...base, ...fixedRate, target: baseline.target, bodies, rps: 2_000, seconds: 3 });

    // The floors: same client, same pinning, servers that do nothing but answer.
    const floors: Array<{ label: string; stop(): Promise<void>; target: string }> = [];
    for (const transport of ['grpc-js', 'meshgate']) {
      const [floorPort] = (await freePorts(1)) as [number];
      const p = startProcess(`constant-${transport}`, 'taskset', { args: ['-c', '0', process.execPath, distPath('bench', 'lib', 'constant-grpc-server.js'), String(floorPort), transport] });
      await waitFor('the constant server', () => p.tail().includes('listening'), { timeoutMs: 5_000 });
      floors.push({ label: `floor: constant, ${transport === 'grpc-js' ? 'grpc-js' : 'shared/h2'}`, stop: () => p.stop(), target: `127.0.0.1:${floorPort}` });
      await grpcLoad({ ...base, ...fixedRate, target: `127.0.0.1:${floorPort}`, bodies: API_KEY_CHECKS, rps: 2_000, seconds: 3 });
    }
    // The floors and the two policies take turns, REPS runs each; medians, with the p99's range.
    const targets: Array<{ label: string; target: string; bodies: string }> = [
      ...floors.map((f) => ({ label: f.label, target: f.target, bodies: API_KEY_CHECKS })),
      ...kinds.map(([label, bodies]) => ({ label, target, bodies })),
      ...(baseline ? kinds.map(([label, bodies]) => ({ label: `${label}, baseline`, target: baseline!.target, bodies })) : []),
    ];
    try {
      line(`fixed rate (${REPS} runs each, taking turns)   achieved   latency from the scheduled start, ms`);
      for (const rps of RATES) {
        const runs = await inTurns(targets, REPS, (t) => grpcLoad({ ...base, ...fixedRate, target: t.target, bodies: t.bodies, rps, seconds: SECONDS }));
        for (const t of targets) line(`${`${t.label} @ ${rps}/s`.padEnd(34)} ${runsSummary(runs.get(t)!)}`);
      }
      line();
      line('as fast as possible (200 calls in flight on 4 connections, the generator on the other core)');
      for (const f of floors) line(row(`${f.label} max`, await grpcLoad({ ...base, ...flatOut, target: f.target, bodies: API_KEY_CHECKS, seconds: SECONDS })));
    } finally {
      for (const f of floors) await f.stop();
    }
    // ext-authz's own time per check (decode → decide → encode), from its histogram, over the
    // fixed-rate runs only: flat out, a check's time also holds the checks of its batch that
    // ran while it awaited.
    const metrics = await (await fetch(`${authz.adminUrl}/metrics`)).text();
    for (const p of ['keys', 'tokens']) {
      const buckets = metrics
        .split('\n')
        .filter((l) => l.startsWith('meshgate_authz_check_duration_seconds_bucket{') && l.includes(`policy="${p}"`))
        .map((l) => [Number(/le="([^"]+)"/.exec(l)![1]), Number(l.slice(l.lastIndexOf(' ') + 1))] as const);
      const total = buckets[buckets.length - 1]![1];
      const within = (q: number) => buckets.find(([, c]) => c >= q * total)?.[0];
      line(`decision time (${p}, fixed rates): ${total} checks, p50 ≤ ${(within(0.5)! * 1e3).toFixed(3)} ms, p99 ≤ ${(within(0.99)! * 1e3).toFixed(3)} ms, p99.9 ≤ ${(within(0.999)! * 1e3).toFixed(3)} ms`);
    }
    // Flat out, in turns with the baseline when there is one (2 runs each, medians).
    const services = [{ name: 'ext-authz', target, pid: authz.process.pid }, ...(baseline ? [{ name: 'baseline', target: baseline.target, pid: baseline.pid }] : [])];
    for (const [label, bodies] of kinds) {
      const runs = await inTurns(services, Number(process.env['BENCH_MAX_REPS'] ?? (baseline ? 2 : 1)), async (svc) => {
        const before = cpuSeconds(svc.pid);
        const r = await grpcLoad({ ...base, ...flatOut, target: svc.target, bodies, seconds: SECONDS });
        return { r, cpu: cpuSeconds(svc.pid) - before };
      });
      const medians = new Map<string, number>();
      for (const svc of services) {
        const list = runs.get(svc)!;
        const best = [...list].sort((a, b) => a.r.rps - b.r.rps)[Math.floor(list.length / 2)]!;
        medians.set(svc.name, best.r.rps);
        line(row(`${label} max${svc.name === 'baseline' ? ', baseline' : ''}`, best.r));
        line(`${''.padEnd(34)} CPU ${(best.cpu / SECONDS).toFixed(2)} of one core → ${Math.round(best.r.count / best.cpu)} checks per CPU-second (${((best.cpu / best.r.count) * 1e6).toFixed(1)} µs each)`);
      }
      if (baseline) line(`${''.padEnd(34)} flat out against the baseline: ${(medians.get('ext-authz')! / medians.get('baseline')!).toFixed(3)}×`);
    }
  } finally {
    await authz.stop();
    await baseline?.stop();
  }

  // In process: the cost of one RS256 verification, and of a remembered one.
  const registry = new JwksRegistry();
  const verifier = () =>
    new JwtCredential(
      {
        issuer: ISSUER, audiences: [AUDIENCE], algorithms: ['RS256'], jwks: jwks(key) as never, leewaySeconds: 30, require_expiry: true,
        claims: { subject: 'sub', scopes: 'scope' }, required_claims: {}, required_scopes: [], max_token_bytes: 8192, jwksRefreshMs: 3e5, jwksMinRefetchMs: 1e4,
      },
      registry,
    );
  const tokens = await Promise.all(Array.from({ length: 500 }, (_, i) => sign(key, { sub: `u${i}` })));
  const cold = verifier();
  let t0 = process.hrtime.bigint();
  for (const t of tokens) await cold.verify(t);
  const coldUs = Number(process.hrtime.bigint() - t0) / 1e3 / tokens.length;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < 20_000; i++) await cold.verify(tokens[i % tokens.length]!);
  const warmUs = Number(process.hrtime.bigint() - t0) / 1e3 / 20_000;
  line();
  line(`JWT verification in process: first sight of a token ${coldUs.toFixed(0)} µs (RS256 signature), remembered token ${warmUs.toFixed(1)} µs`);

} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
