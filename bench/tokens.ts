// Tokens at ext-authz: how fast it issues meshgate's own (the token endpoint, under wrk: a
// client_credentials grant whose Basic client is remembered after its first check, and an API-key
// exchange), and how fast it checks opaque tokens by introspection (RFC 7662) against a real
// OpenID provider (oidc-provider) on loopback, beside the JWT path in the same run, under
// bench/grpc-load:
//   - cached: one token, remembered after its first check (cache_ttl 5m);
//   - uncached: 2,000 tokens in turn with cache_ttl 0, so every check asks the provider
//     (max_concurrency 64: the provider is the bound);
//   - JWT (RS256, a local JWKS): the reference;
//   - a cached caller beside a flood of random tokens: its wait alone and beside the flood.
// For each: a fixed rate (open loop) and flat out (closed loop), ext-authz pinned to CPU 0 and the
// generator to CPU 1; the provider is not pinned (it shares both). CPU per check from /proc.
//   node dist/bench/tokens.js        (BENCH_SECONDS, BENCH_RATE)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../launcher/consul-agent.js';
import { startExtAuthz } from '../launcher/ext-authz.js';
import { freePorts } from '../launcher/ports.js';
import { toolPath } from '../launcher/repo.js';
import { encodeMessage } from '../shared/proto/codec.js';
import { hashPassword, sha256 } from '../ext-authz/credentials/secrets.js';
import { API_KEY_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../ext-authz/token/token-endpoint.js';
import { IDP_CLIENTS, IdentityProvider } from '../test/helpers/identity-provider.js';
import { AUDIENCE, ISSUER, jwks, sign, testKey } from '../test/helpers/jwt-keys.js';
import { grpcLoad, writeBodies, type LoadResult } from './lib/grpc-load.js';
import { cpuSeconds } from './lib/proc.js';
import { fmt, machineDescription } from './lib/stats.js';
import { pinWrk, wrk, wrkWithCpu } from './lib/wrk.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const RATE = Number(process.env['BENCH_RATE'] ?? 1_000);
const UNCACHED_TOKENS = 2_000;
const dir = tempDir('bench-tokens');
const line = (s = ''): void => void process.stdout.write(`${s}\n`);

const [idpPort, port, admin] = (await freePorts(3)) as [number, number, number];
const idp = await new IdentityProvider(idpPort, path.join(dir, 'idp.log')).start();
try {
  const introspection = (cacheTtl: string) =>
    `{type: introspection, endpoint: "${idp.introspectionEndpoint}", client_id: ${IDP_CLIENTS.introspector.id}, client_secret: ${IDP_CLIENTS.introspector.secret}, cache_ttl: ${cacheTtl}, max_concurrency: 64, max_waiting: 4096, timeout: 5s}`;
  const key = await testKey('bench-introspection');
  const clientHash = await hashPassword('bench-secret');
  fs.writeFileSync(
    path.join(dir, 'policy.yaml'),
    `policies:
  token-clients:
    credentials:
      - {type: basic, users: [{username: bench-client, password_hash: "${clientHash}", subject: bench-client, tenant: t1, scopes: [models:read]}]}
      - {type: api_key, keys: [{id: bench-key, sha256: ${sha256('mgk_bench_exchange').toString('hex')}, subject: bench-bot, scopes: [models:read]}]}
    issue_tokens: {issuer: "https://gateway.bench/", ttl: 15m}
  cached: {credentials: [${introspection('5m')}], rules: {allow: [{scopes: [models:read]}]}}
  uncached: {credentials: [${introspection('0s')}], rules: {allow: [{scopes: [models:read]}]}}
  tokens: {credentials: [{type: jwt, issuer: "${ISSUER}", audiences: [${AUDIENCE}], algorithms: [RS256], jwks: ${JSON.stringify(jwks(key))}}], rules: {allow: [{scopes: [models:read]}]}}
`,
  );
  const check = (policy: string, token: string): Uint8Array =>
    encodeMessage('envoy.service.auth.v3.CheckRequest', {
      attributes: {
        source: { address: { socket_address: { address: '10.0.0.1', port_value: 40000 } } },
        request: { http: { id: 'bench', method: 'POST', path: '/v1/chat/completions', headers: { ':path': '/v1/chat/completions', ':method': 'POST', authorization: `Bearer ${token}` } } },
        context_extensions: { policy },
      },
    });
  const started = Date.now();
  const tokens = await Promise.all(Array.from({ length: UNCACHED_TOKENS }, () => idp.token()));
  const issuedPerSecond = UNCACHED_TOKENS / ((Date.now() - started) / 1000);
  const files = {
    cached: path.join(dir, 'cached.bodies'),
    uncached: path.join(dir, 'uncached.bodies'),
    jwt: path.join(dir, 'jwt.bodies'),
  };
  writeBodies(files.cached, [check('cached', tokens[0]!)]);
  writeBodies(files.uncached, tokens.map((t) => check('uncached', t)));
  writeBodies(files.jwt, [check('tokens', await sign(key, { sub: 'bench', scope: 'models:read' }))]);

  const [tokenPort] = (await freePorts(1)) as [number];
  const authz = await startExtAuthz({
    port,
    adminPort: admin,
    policyFiles: [path.join(dir, 'policy.yaml')],
    cpus: '0',
    logFile: path.join(dir, 'ext-authz.log'),
    extraArgs: [`--token-listen=127.0.0.1:${tokenPort}`, `--token-keys=${path.join(dir, 'keys')}`],
  });
  try {
    line('ext-authz: tokens of its own issued, and opaque tokens checked by introspection (oidc-provider on loopback) beside JWT');
    line(machineDescription({ envoy: toolPath('envoy') }));
    line(`commit ${execFileSync('git', ['log', '-1', '--format=%h'], { encoding: 'utf8' }).trim()}; oidc-provider 8.8.1 (in-memory adapter); ext-authz pinned to CPU 0, bench/grpc-load to CPU 1, the provider unpinned; ${SECONDS}s per run`);
    line(`the provider issued ${UNCACHED_TOKENS} client_credentials tokens at ${Math.round(issuedPerSecond)}/s (all asked for at once by this process)`);
    line();
    // meshgate's own token endpoint, under wrk (10 connections, pinned to CPU 1).
    pinWrk('1');
    const tokenUrl = `http://127.0.0.1:${tokenPort}/oauth/token`;
    const grants: Array<[string, string, Record<string, string>]> = [
      ['client_credentials (Basic client)', 'grant_type=client_credentials', { authorization: `Basic ${Buffer.from('bench-client:bench-secret').toString('base64')}` }],
      ['token exchange (API key)', `grant_type=${encodeURIComponent(TOKEN_EXCHANGE_GRANT)}&subject_token=mgk_bench_exchange&subject_token_type=${encodeURIComponent(API_KEY_TOKEN_TYPE)}`, {}],
    ];
    for (const [label, body, headers] of grants) {
      const script = path.join(dir, `${label.length}.lua`);
      fs.writeFileSync(script, `wrk.method = "POST"\nwrk.body = "${body}"\nwrk.headers["content-type"] = "application/x-www-form-urlencoded"\n`);
      wrk(tokenUrl, headers, 10, 2, script); // warm up (the Basic client's one hash, the JIT)
      const r = wrkWithCpu(tokenUrl, headers, 10, SECONDS, { 'ext-authz': authz.process.pid }, script);
      line(`token endpoint, ${label.padEnd(34)} ${String(Math.round(r.rps)).padStart(6)} tokens/s  p50 ${fmt(r.p50).padStart(6)}  p99 ${fmt(r.p99).padStart(6)} ms  ext-authz ${Math.round(r.cpu['ext-authz'] ?? NaN)} µs CPU a token`);
    }
    line();
    const base = { method: '/envoy.service.auth.v3.Authorization/Check', target: `127.0.0.1:${port}`, cpus: '1' };
    const row = (label: string, r: LoadResult, cpu: number): string =>
      `${label.padEnd(30)} ${String(Math.round(r.rps)).padStart(6)}/s  p50 ${fmt(r.p50ms).padStart(6)}  p99 ${fmt(r.p99ms).padStart(6)} ms  ok ${r.ok}/${r.count}  ext-authz ${((cpu / r.count) * 1e6).toFixed(0)} µs CPU a check${Object.keys(r.errors).length ? `  errors ${JSON.stringify(r.errors)}` : ''}`;
    const kinds: Array<[string, string]> = [
      ['JWT (RS256)', files.jwt],
      ['introspection, cached', files.cached],
      ['introspection, uncached', files.uncached],
    ];
    for (const [, bodies] of kinds) await grpcLoad({ ...base, bodies, rps: 500, seconds: 2, concurrency: 50, connections: 2 }); // warm up
    for (const [label, bodies] of kinds) {
      const before = cpuSeconds(authz.process.pid);
      const r = await grpcLoad({ ...base, bodies, rps: RATE, seconds: SECONDS, concurrency: 50, connections: 2 });
      line(row(`${label} @ ${RATE}/s`, r, cpuSeconds(authz.process.pid) - before));
    }
    for (const [label, bodies] of kinds) {
      const before = cpuSeconds(authz.process.pid);
      const r = await grpcLoad({ ...base, bodies, rps: 0, seconds: SECONDS, concurrency: 200, connections: 4 });
      line(row(`${label}, flat out`, r, cpuSeconds(authz.process.pid) - before));
    }
    // A caller whose token is remembered, beside a flood of random tokens (each one an
    // introspection the provider answers inactive): how long the known caller waits, alone and
    // then beside the flood, in the same run (test/integration/ext-authz-introspection.test.ts
    // checks that it is served; this says how fast).
    const floodBodies = path.join(dir, 'flood.bodies');
    writeBodies(floodBodies, Array.from({ length: 20_000 }, () => check('cached', randomBytes(24).toString('base64url'))));
    const steady = { ...base, bodies: files.cached, rps: 100, seconds: SECONDS, concurrency: 10, connections: 1 };
    const alone = await grpcLoad(steady);
    const askedBefore = (await idp.stats()).introspections;
    const [beside, flood] = await Promise.all([grpcLoad(steady), grpcLoad({ ...base, bodies: floodBodies, rps: 0, seconds: SECONDS, concurrency: 200, connections: 4 })]);
    const asked = (await idp.stats()).introspections - askedBefore;
    line(
      `a cached caller @ 100/s: alone p50 ${fmt(alone.p50ms)} p99 ${fmt(alone.p99ms)} ms; beside a flood of random tokens (${Math.round(flood.rps)}/s, the provider asked ${asked} times)` +
        ` p50 ${fmt(beside.p50ms)} p99 ${fmt(beside.p99ms)} ms, ok ${beside.ok}/${beside.count}`,
    );
    const stats = await idp.stats();
    line(`the provider answered ${stats.introspections} introspections, at most ${stats.maxInFlight} at once (max_concurrency 64)`);
  } finally {
    await authz.stop();
  }
} finally {
  await idp.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
