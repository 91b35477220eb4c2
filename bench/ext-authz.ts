// ext-authz: Check throughput and latency with a real gRPC load generator (ghz), and what it
// adds to a request through the gateway (wrk).
//   1. fixed rates (1,000 / 2,000 / 5,000 per second) for an API-key and a JWT policy, beside
//      the floor: the same load against a grpc-js server that answers a constant;
//   2. the most checks per second with ext-authz pinned to one core (ghz on the other), and
//      checks per CPU-second of ext-authz (ghz saturates its core first on 2 cores);
//   3. ext-authz's own decision time (decode to encode), from its histogram;
//   4. one uncached RS256 verification versus a cached one, in process;
//   5. GET through the gateway Envoy: a public route (ext_authz off) against a protected one.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { JwksRegistry } from '../ext-authz/credentials/jwks-cache.js';
import { JwtCredential } from '../ext-authz/credentials/jwt.js';
import { sha256 } from '../ext-authz/credentials/secrets.js';
import { tempDir } from '../launcher/consul-agent.js';
import { startExtAuthz } from '../launcher/ext-authz.js';
import { startGatewayMesh } from '../launcher/mesh.js';
import { freePorts } from '../launcher/ports.js';
import { toolPath } from '../launcher/repo.js';
import { waitFor } from '../launcher/wait.js';
import { AUDIENCE, ISSUER, jwks, sign, testKey } from '../test/helpers/jwt-keys.js';
import { startProcess } from '../launcher/process.js';
import { distPath } from '../launcher/repo.js';
import { ghz, type GhzResult } from './lib/ghz.js';
import { cpuSeconds } from './lib/proc.js';
import { fmt, machineDescription } from './lib/stats.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
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

const checkData = (policyName: string, headers: Record<string, string>) => ({
  attributes: {
    request: { http: { id: 'bench', method: 'POST', path: '/v1/chat/completions', headers: { ':path': '/v1/chat/completions', ':method': 'POST', ...headers } } },
    context_extensions: { policy: policyName },
  },
});

const row = (label: string, r: GhzResult): string =>
  `${label.padEnd(34)} ${String(Math.round(r.rps)).padStart(6)}/s  p50 ${fmt(r.p50ms).padStart(5)} ms  p90 ${fmt(r.p90ms).padStart(5)} ms  p99 ${fmt(r.p99ms).padStart(5)} ms  ok ${r.okCount}/${r.count}${Object.keys(r.errors).length ? `  errors ${JSON.stringify(r.errors)}` : ''}`;

function wrk(url: string, headers: Record<string, string>, connections: number): { rps: number; p50: number; p99: number } {
  const args = ['-t1', `-c${connections}`, `-d${SECONDS}s`, '--latency', ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
  const text = execFileSync(toolPath('wrk'), args, { encoding: 'utf8' });
  const ms = (label: string): number => {
    const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)`, 'm').exec(text);
    if (!m) return NaN;
    return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as const)[m[2] as 'us' | 'ms' | 's'];
  };
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN), p50: ms('50%'), p99: ms('99%') };
}

try {
  line('ext-authz benchmark');
  line(machineDescription({ envoy: toolPath('envoy') }));
  line(`ghz ${SECONDS}s per run, 20 workers on 2 connections (fixed rates), pinned to CPU 1; ext-authz pinned to CPU 0; decision log on (all)`);
  line();

  const [port, admin] = (await freePorts(2)) as [number, number];
  const authz = await startExtAuthz({ port, adminPort: admin, policyFiles: [path.join(dir, 'policy.yaml')], cpus: '0', logFile: path.join(dir, 'ext-authz.log') });
  const target = `127.0.0.1:${port}`;
  const base = { proto: 'envoy/service/auth/v3/external_auth.proto', call: 'envoy.service.auth.v3.Authorization.Check', target, cpus: '1' };
  try {
    const kinds: Array<[string, unknown]> = [
      ['API key', checkData('keys', { 'x-api-key': apiKeys[7]! })],
      ['JWT (RS256)', checkData('tokens', { authorization: `Bearer ${token}` })],
    ];
    for (const [, data] of kinds) await ghz({ ...base, data, rps: 2_000, seconds: 3, concurrency: 20, connections: 2 }); // warm up

    // The floor: same client, same pinning, a server that does nothing but answer.
    const [floorPort] = (await freePorts(1)) as [number];
    const floor = startProcess('constant-grpc', 'taskset', { args: ['-c', '0', process.execPath, distPath('bench', 'lib', 'constant-grpc-server.js'), String(floorPort)] });
    await waitFor('the constant server', () => floor.tail().includes('listening'), { timeoutMs: 5_000 });
    const floorBase = { ...base, target: `127.0.0.1:${floorPort}`, data: kinds[0]![1] };
    await ghz({ ...floorBase, rps: 2_000, seconds: 3, concurrency: 20, connections: 2 });

    line('fixed rate                              achieved   latency (as ghz sees it)');
    for (const rps of [1_000, 2_000, 5_000]) {
      line(row(`floor: constant answer @ ${rps}/s`, await ghz({ ...floorBase, rps, seconds: SECONDS, concurrency: 20, connections: 2 })));
      for (const [label, data] of kinds) {
        line(row(`${label} @ ${rps}/s`, await ghz({ ...base, data, rps, seconds: SECONDS, concurrency: 20, connections: 2 })));
      }
    }
    line();
    line('as fast as possible (ghz: 200 workers, 4 connections, on the other core)');
    const floorMax = await ghz({ ...floorBase, rps: 0, seconds: SECONDS, concurrency: 200, connections: 4 });
    line(row('floor: constant answer max', floorMax));
    await floor.stop();
    for (const [label, data] of kinds) {
      const before = cpuSeconds(authz.process.pid);
      const r = await ghz({ ...base, data, rps: 0, seconds: SECONDS, concurrency: 200, connections: 4 });
      const cpu = cpuSeconds(authz.process.pid) - before;
      line(row(`${label} max`, r));
      line(`${''.padEnd(34)} ext-authz CPU ${(cpu / SECONDS).toFixed(2)} of one core → ${Math.round(r.count / cpu)} checks per CPU-second (${((cpu / r.count) * 1e6).toFixed(0)} µs each)`);
    }

    // ext-authz's own time per check (decode → decide → encode), from its histogram.
    const metrics = await (await fetch(`${authz.adminUrl}/metrics`)).text();
    for (const p of ['keys', 'tokens']) {
      const buckets = metrics
        .split('\n')
        .filter((l) => l.startsWith('meshgate_authz_check_duration_seconds_bucket{') && l.includes(`policy="${p}"`))
        .map((l) => [Number(/le="([^"]+)"/.exec(l)![1]), Number(l.slice(l.lastIndexOf(' ') + 1))] as const);
      const total = buckets[buckets.length - 1]![1];
      const within = (q: number) => buckets.find(([, c]) => c >= q * total)?.[0];
      line(`decision time (${p}): ${total} checks, p50 ≤ ${(within(0.5)! * 1e3).toFixed(3)} ms, p99 ≤ ${(within(0.99)! * 1e3).toFixed(3)} ms, p99.9 ≤ ${(within(0.999)! * 1e3).toFixed(3)} ms`);
    }
  } finally {
    await authz.stop();
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

  // Through the gateway: the same upstream, public (ext_authz off) and protected (on).
  const mesh = await startGatewayMesh({ authzPolicy: policy });
  try {
    await mesh.addInstance({ service: 'echo', id: 'echo-1', meta: { 'gateway-path': '/open,/closed', 'auth-policy': 'keys,/open=none' } });
    await waitFor('both routes', async () => (await fetch(`${mesh.gatewayUrl}/open`)).ok && (await fetch(`${mesh.gatewayUrl}/closed`, { headers: { 'x-api-key': apiKeys[1]! } })).ok, { timeoutMs: 20_000, intervalMs: 200 });
    line();
    line(`through the gateway (wrk -t1, ${SECONDS}s; Envoy --concurrency 1, node upstream, everything on 2 cores)`);
    for (const c of [1, 10]) {
      const off = wrk(`${mesh.gatewayUrl}/open`, {}, c);
      const on = wrk(`${mesh.gatewayUrl}/closed`, { 'x-api-key': apiKeys[1]! }, c);
      line(`  ${String(c).padStart(2)} connection(s)  ext_authz off: ${Math.round(off.rps)}/s p50 ${fmt(off.p50)} ms p99 ${fmt(off.p99)} ms | on: ${Math.round(on.rps)}/s p50 ${fmt(on.p50)} ms p99 ${fmt(on.p99)} ms | added p50 ${fmt(on.p50 - off.p50)} ms p99 ${fmt(on.p99 - off.p99)} ms`);
    }
  } finally {
    await mesh.stop();
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
