// Budgets that cannot be overrun, and what they cost a call. Two meshes side by side on one
// machine, each a gateway Envoy, ext-authz, the processor and an echo model service:
//   - "plain": the model route without budgets;
//   - "budgets": a token budget and a cost budget per tenant, counted by ratelimit-service on
//     Redis — each call reserves before it goes and settles when its stream is done.
// First the cost: closed-loop calls (BENCH_CONCURRENCY at once, default 8) through each mesh in
// turns (plain, budgets, plain, budgets …, BENCH_SECONDS each, default 10): calls/s, latency
// p50/p99, and the CPU per call of the gateway Envoy and of ratelimit-service. Then the bound:
// BENCH_BURST calls at once (default 200) against budgets worth a quarter of them, answered and
// refused, what the budgets were charged against what the answered calls used — and what
// charging after the call (the way before reservations, and LiteLLM's) would have let through:
// every call admitted while nothing was yet charged, i.e. all of them.
//   BENCH_JSON (rows to a file).
import fs from 'node:fs';
import { startGatewayMesh, type GatewayMesh } from '../launcher/mesh.js';
import { freePorts } from '../launcher/ports.js';
import { startRedis, type RedisServer } from '../launcher/redis.js';
import { toolPath } from '../launcher/repo.js';
import { waitFor } from '../launcher/wait.js';
import { sha256 } from '../ext-authz/credentials/secrets.js';
import { cpuSeconds } from './lib/proc.js';
import { fmt, machineDescription, percentile } from './lib/stats.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 8);
const BURST = Number(process.env['BENCH_BURST'] ?? 200);
const ROUNDS = 3;
const JSON_OUT = process.env['BENCH_JSON'];
const line = (s = ''): void => void process.stdout.write(`${s}\n`);

const KEY = 'mgk_bench_budgets_0001';
const POLICY = `policies:
  default:
    credentials:
      - type: api_key
        keys:
          - {id: bench, sha256: ${sha256(KEY).toString('hex')}, subject: bench-app, tenant: bench}
          - {id: burst, sha256: ${sha256(`${KEY}_burst`).toString('hex')}, subject: burst-app, tenant: burst}
`;
// One call: 100 one-letter words in, the echo's 102 out (202 tokens); price 1 and 2 per million
// tokens, so 100 + 204 = 304 micro-units.
const CALL = JSON.stringify({ model: 'bench-8b', max_tokens: 110, messages: [{ role: 'user', content: Array.from({ length: 100 }, () => 'a').join(' ') }] });
const CALL_TOKENS = 202;
const CALL_COST = 304;
const BURST_BUDGET_CALLS = Math.max(1, Math.floor(BURST / 4));
/** A budget per tenant: out of reach for the bench tenant, worth BURST_BUDGET_CALLS calls for the burst's. */
const budget = (value: string, perCall: number): string => `  - key: generic_key
    value: ${value}
    descriptors:
      - key: tenant
        rate_limit: {unit: hour, requests_per_unit: 1000000000}
      - key: tenant
        value: burst
        rate_limit: {unit: hour, requests_per_unit: ${BURST_BUDGET_CALLS * perCall}}
`;
const ratelimitConfig = `domain: meshgate\ndescriptors:\n${budget('tokens', CALL_TOKENS)}${budget('dollars', CALL_COST)}`;

async function startMesh(budgets: boolean, redis: RedisServer): Promise<GatewayMesh> {
  const mesh = await startGatewayMesh({
    llm: true,
    authzPolicy: POLICY,
    ...(budgets
      ? { ratelimitConfig, ratelimitRedis: redis.url, xdsArgs: ['--llm-token-budgets=generic:tokens,auth:tenant', '--llm-cost-budgets=generic:dollars,auth:tenant', '--ratelimit-fail-closed'] }
      : {}),
  });
  await mesh.consul.api.kvPut('meshgate/config/model-route/bench-8b', 'Kind: model-route\nName: bench-8b\nPrice: {InputPerMillion: 1, OutputPerMillion: 2}\n');
  await mesh.addInstance({ service: 'bench-llm', id: `bench-llm-${budgets ? 'b' : 'p'}`, meta: { models: 'bench-8b' } });
  await waitFor('the model to be routed and priced', async () => (await call(mesh.gatewayUrl, KEY)).status === 200 && (!budgets || (await costed(mesh))), { timeoutMs: 30_000, intervalMs: 200 });
  return mesh;
}

/** The processor has counted a priced call (the price reached it). */
async function costed(mesh: GatewayMesh): Promise<boolean> {
  return (await (await fetch(`${mesh.llm!.adminUrl}/metrics`)).text()).includes('meshgate_llm_cost_total{');
}

async function call(gateway: string, key: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const r = await fetch(`${gateway}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: CALL });
  await r.arrayBuffer();
  return { status: r.status, ms: performance.now() - t0 };
}

interface Round {
  readonly mesh: 'plain' | 'budgets';
  readonly perSecond: number;
  readonly ms: number[];
  readonly failed: number;
  readonly envoyCpuMsPerCall: number;
  readonly ratelimitCpuMsPerCall: number | undefined;
}

async function closedLoop(label: Round['mesh'], mesh: GatewayMesh): Promise<Round> {
  const envoyPid = mesh.envoy.process.pid;
  const rlPid = mesh.ratelimit?.process.pid;
  const cpu0 = { envoy: cpuSeconds(envoyPid), rl: rlPid ? cpuSeconds(rlPid) : 0 };
  const ms: number[] = [];
  let failed = 0;
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const r = await call(mesh.gatewayUrl, KEY);
        if (r.status === 200) ms.push(r.ms);
        else failed++;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const n = ms.length + failed;
  return {
    mesh: label,
    perSecond: ms.length / elapsed,
    ms: ms.sort((a, b) => a - b),
    failed,
    envoyCpuMsPerCall: ((cpuSeconds(envoyPid) - cpu0.envoy) * 1000) / n,
    ratelimitCpuMsPerCall: rlPid ? ((cpuSeconds(rlPid) - cpu0.rl) * 1000) / n : undefined,
  };
}

async function main(): Promise<void> {
  const [redisPort] = (await freePorts(1)) as [number];
  const redis = await startRedis(redisPort);
  let plain: GatewayMesh | undefined;
  let budgets: GatewayMesh | undefined;
  try {
    plain = await startMesh(false, redis);
    budgets = await startMesh(true, redis);
    line(machineDescription({ envoy: toolPath('envoy'), redis: toolPath('redis-server') }));
    line(`budgets: a token and a cost budget per tenant on ratelimit-service with Redis (reserve, then settle); plain: none. ${CONCURRENCY} calls at once, ${SECONDS} s a round, ${ROUNDS} rounds in turns`);
    line();
    const rounds: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) for (const [label, mesh] of [['plain', plain], ['budgets', budgets]] as const) rounds.push(await closedLoop(label, mesh));
    line('mesh      calls/s   p50 ms   p99 ms   failed   envoy CPU ms/call   ratelimit CPU ms/call');
    for (const r of rounds) {
      line(
        `${r.mesh.padEnd(9)} ${r.perSecond.toFixed(0).padStart(7)}  ${fmt(percentile(r.ms, 50)).padStart(7)}  ${fmt(percentile(r.ms, 99)).padStart(7)}  ${String(r.failed).padStart(7)}   ${r.envoyCpuMsPerCall.toFixed(3).padStart(17)}   ${r.ratelimitCpuMsPerCall === undefined ? '-'.padStart(21) : r.ratelimitCpuMsPerCall.toFixed(3).padStart(21)}`,
      );
    }
    const median = (label: Round['mesh'], f: (r: Round) => number): number => {
      const xs = rounds.filter((r) => r.mesh === label).map(f).sort((a, b) => a - b);
      return xs[Math.floor(xs.length / 2)]!;
    };
    const ratio = median('budgets', (r) => r.perSecond) / median('plain', (r) => r.perSecond);
    const addedP50 = median('budgets', (r) => percentile(r.ms, 50)) - median('plain', (r) => percentile(r.ms, 50));
    const addedP99 = median('budgets', (r) => percentile(r.ms, 99)) - median('plain', (r) => percentile(r.ms, 99));
    line(`medians: budgets/plain throughput ${ratio.toFixed(2)}×, latency added p50 ${fmt(addedP50)} ms, p99 ${fmt(addedP99)} ms`);

    // The bound: a burst at once against budgets worth a quarter of it.
    line();
    const answers = await Promise.all(Array.from({ length: BURST }, () => call(budgets!.gatewayUrl, `${KEY}_burst`)));
    const answered = answers.filter((a) => a.status === 200).length;
    const refused = answers.filter((a) => a.status === 429).length;
    const refusedMs = answers.filter((a) => a.status === 429).map((a) => a.ms).sort((a, b) => a - b);
    const hour = Math.floor(Date.now() / 1000 / 3600) * 3600;
    const counter = async (b: string): Promise<number> => {
      const key = `meshgate_generic_key_${b}_tenant_burst_${hour}`;
      return (await redis.command('EXISTS', key)) === ':1' ? Number(await redis.bulk('GET', key)) : 0;
    };
    await waitFor('the burst settled', async () => (await counter('tokens')) === answered * CALL_TOKENS, { timeoutMs: 10_000, intervalMs: 100 }).catch(() => undefined);
    const tokens = await counter('tokens');
    const cost = await counter('dollars');
    const budgetTokens = BURST_BUDGET_CALLS * CALL_TOKENS;
    line(`burst: ${BURST} calls at once against budgets worth ${BURST_BUDGET_CALLS} calls (${budgetTokens} tokens, ${BURST_BUDGET_CALLS * CALL_COST} micro-units)`);
    line(`  answered ${answered}, refused ${refused} (429 p99 ${refusedMs.length ? fmt(percentile(refusedMs, 99)) : '-'} ms), other ${BURST - answered - refused}`);
    line(`  charged ${tokens} tokens (${((100 * tokens) / budgetTokens).toFixed(0)}% of the budget), the answered calls used ${answered * CALL_TOKENS}; cost ${cost} of ${BURST_BUDGET_CALLS * CALL_COST} micro-units`);
    line(`  charged after the call instead, all ${BURST} would have been admitted before any was charged: ${BURST * CALL_TOKENS} tokens, ${((BURST * CALL_TOKENS) / budgetTokens).toFixed(1)}× the budget`);
    if (JSON_OUT) {
      fs.writeFileSync(
        JSON_OUT,
        JSON.stringify({
          rounds: rounds.map((r) => ({ mesh: r.mesh, per_s: r.perSecond, p50_ms: percentile(r.ms, 50), p99_ms: percentile(r.ms, 99), failed: r.failed, envoy_cpu_ms: r.envoyCpuMsPerCall, ratelimit_cpu_ms: r.ratelimitCpuMsPerCall ?? null })),
          burst: { calls: BURST, budget_calls: BURST_BUDGET_CALLS, answered, refused, charged_tokens: tokens, used_tokens: answered * CALL_TOKENS, charged_cost: cost },
        }),
      );
    }
  } finally {
    await budgets?.stop();
    await plain?.stop();
    await redis.stop();
  }
}

await main();
