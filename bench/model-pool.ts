// A saturated model pool through the gateway: three simulated GPU servers (the demo model
// service's --sim: batch slots, a waiting queue, prefill of uncached prompt blocks, a prefix
// cache), two tenants through ext-authz — "chat" holding multi-turn conversations (each turn
// sent when the last answer is in, with the whole history) and "batch" flooding open-loop with
// long one-off prompts — offered 1.5× the pool's capacity, under four ways of placing calls, in
// turns in one mesh:
//   - the endpoint picker (load and prefix, the gateway's queue), chat alone (the reference);
//   - the endpoint picker with the flood;
//   - round robin, and least request (Envoy's; EndpointPicker: off) with the flood.
// The servers' KV cache holds 4,000 blocks of 16 tokens each: the flood's one-off prompts push
// out what is not used again soon. Per run: time to first token p50/p99 per tenant (streams, measured by the client), answered
// and refused calls per second, the prefix-cache hit rate the instances report against what
// perfect affinity would get (every turn on the instance of its conversation's last turn,
// nothing evicted). Then what the picker costs a call on an idle pool (latency and the
// processor's CPU per call, picker on against off, in turns).
//   BENCH_SECONDS (each run, default 20), BENCH_JSON (rows to a file), BENCH_ROUNDS (default 1:
//   more rounds repeat the chat alone and the picker with the flood, in turns, and the goal on
//   the flood's effect is also judged on the turns of every round pooled — a p99 of one run
//   rests on its 15 or so uncached turns), BENCH_SCHEDULING=priority (the servers schedule by
//   each call's priority and preempt, as vLLM's --scheduling-policy priority, and the pool's
//   service says so: the gateway writes each call's priority; round robin and least request
//   write none, so every call is equal there).
import fs from 'node:fs';
import { startGatewayMesh, type GatewayMesh } from '../launcher/mesh.js';
import type { ModelServiceProcess } from '../launcher/model-service.js';
import { toolPath } from '../launcher/repo.js';
import { sleep, waitFor } from '../launcher/wait.js';
import { promptBlocks, promptTokens } from '../demo/gpu-sim.js';
import { sha256 } from '../ext-authz/credentials/secrets.js';
import { parseServerLoad } from '../ext-proc/picker/server-load.js';
import { cpuSeconds } from './lib/proc.js';
import { fmt, machineDescription, percentile } from './lib/stats.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 20);
const ROUNDS = Math.max(1, Number(process.env['BENCH_ROUNDS'] ?? 1));
const JSON_OUT = process.env['BENCH_JSON'];
// The processor's picker flags for the run (e.g. "--picker-queue-threshold=1"); its defaults otherwise.
const PICKER_ARGS = (process.env['BENCH_PICKER_ARGS'] ?? '').split(' ').filter(Boolean);
const line = (s = ''): void => void process.stdout.write(`${s}\n`);

// The simulated servers: 4 slots each, 16-token blocks, prefill 0.25 ms per uncached token,
// 8 ms per output token.
const SLOTS = 4;
const BLOCK = 16;
const SCHEDULING = process.env['BENCH_SCHEDULING'] === 'priority' ? 'priority' : 'fcfs';
const SIM = ['--sim', `--sim-slots=${SLOTS}`, `--sim-block-tokens=${BLOCK}`, '--sim-kv-blocks=4000', '--sim-prefill-ms-per-token=0.25', '--sim-decode-ms-per-token=8', '--sim-max-waiting=100000', `--sim-scheduling-policy=${SCHEDULING}`];
const CONVERSATIONS = 8;
/** What a user takes to read an answer and ask again. */
const THINK_MS = 300;
const SYSTEM_WORDS = 600;
const FLOOD_WORDS = 900;
const CHAT_KEY = 'mgk_bench_pool_chat_1';
const BATCH_KEY = 'mgk_bench_pool_batch_1';
const POLICY = `policies:
  default:
    credentials:
      - type: api_key
        keys:
          - {id: chat, sha256: ${sha256(CHAT_KEY).toString('hex')}, subject: chat-app, tenant: chat}
          - {id: batch, sha256: ${sha256(BATCH_KEY).toString('hex')}, subject: batch-job, tenant: batch}
`;

type Message = { role: string; content: string };
type Mode = 'picker' | 'round_robin' | 'least_request';

interface CallResult {
  readonly tenant: 'chat' | 'batch';
  readonly status: number;
  readonly ttftMs: number | undefined;
  readonly answer: string;
  /** The prompt's tokens, and those the instance found in its prefix cache (the usage it reported). */
  readonly promptTokens?: number;
  readonly cachedTokens?: number;
  /** The simulated server's own account: the call's wait for a slot there, and its time to first token there. */
  readonly serverQueuedMs?: number;
  readonly serverTtftMs?: number;
}

const words = (n: number, seed: string): string => Array.from({ length: n }, (_, i) => `${seed}${i % 97}`).join(' ');

/** One streamed call; the time to its first content chunk as the client sees it. */
async function call(mesh: GatewayMesh, tenant: 'chat' | 'batch', messages: Message[]): Promise<CallResult> {
  const started = performance.now();
  try {
    const r = await fetch(`${mesh.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': tenant === 'chat' ? CHAT_KEY : BATCH_KEY },
      // Short answers (the simulator echoes the prompt): a call's cost is its prefill and 16 tokens.
      body: JSON.stringify({ model: 'pool-model', stream: true, stream_options: { include_usage: true }, max_tokens: 16, messages }),
      signal: AbortSignal.timeout(60_000),
    });
    if (r.status !== 200 || !r.body) {
      await r.arrayBuffer().catch(() => undefined);
      return { tenant, status: r.status, ttftMs: undefined, answer: '' };
    }
    let ttftMs: number | undefined;
    let answer = '';
    let usage: { prompt_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } } | undefined;
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of r.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n\n')) >= 0) {
        const event = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 2);
        if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
        const parsed = JSON.parse(event.slice(6)) as { choices?: Array<{ delta?: { content?: string } }>; usage?: typeof usage };
        if (parsed.usage) usage = parsed.usage;
        const content = parsed.choices?.[0]?.delta?.content;
        if (content) {
          ttftMs ??= performance.now() - started;
          answer += content;
        }
      }
    }
    const server = { serverQueuedMs: Number(r.headers.get('x-sim-queued-ms') ?? NaN), serverTtftMs: Number(r.headers.get('x-sim-ttft-ms') ?? NaN) };
    return { tenant, status: 200, ttftMs, answer, ...server, ...(usage ? { promptTokens: usage.prompt_tokens ?? 0, cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0 } : {}) };
  } catch {
    return { tenant, status: 0, ttftMs: undefined, answer: '' };
  }
}

/** Tokens perfect affinity would find cached: each turn's blocks shared with its conversation's previous turn. */
function perfectHits(previous: Message[] | undefined, messages: Message[]): number {
  if (!previous) return 0;
  const before = new Set(promptBlocks(promptTokens({ messages: previous }), BLOCK));
  let n = 0;
  for (const b of promptBlocks(promptTokens({ messages }), BLOCK)) {
    if (!before.has(b)) break;
    n += 1;
  }
  return n * BLOCK;
}

async function counters(sims: readonly ModelServiceProcess[]): Promise<{ queries: number; hits: number; preemptions: number }> {
  let queries = 0;
  let hits = 0;
  let preemptions = 0;
  for (const s of sims) {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    const value = (name: string): number => Number(text.split('\n').find((l) => l.startsWith(`${name}{`))?.split(' ').pop() ?? 0);
    queries += value('vllm:prefix_cache_queries_total');
    hits += value('vllm:prefix_cache_hits_total');
    preemptions += value('vllm:num_preemptions_total');
  }
  return { queries, hits, preemptions };
}

async function idle(sims: readonly ModelServiceProcess[]): Promise<void> {
  await waitFor(
    'the pool to drain',
    async () => {
      for (const s of sims) {
        const load = parseServerLoad(await (await fetch(`${s.url}/metrics`)).text());
        if (!load || load.running + load.waiting > 0) return false;
      }
      return true;
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );
}

async function setMode(mesh: GatewayMesh, mode: Mode): Promise<void> {
  const kv = (key: string, text: string) => mesh.consul.api.kvPut(`meshgate/config/${key}`, text);
  await kv('pool-route', `Kind: model-route\nName: pool-model\nServices: [pool]\nEndpointPicker: ${mode === 'picker' ? 'load-and-prefix' : 'off'}\n`);
  await kv('pool-resolver', `Kind: service-resolver\nName: pool\nLoadBalancer: {Policy: ${mode === 'least_request' ? 'least_request' : 'round_robin'}}\n`);
  // The model cluster as Envoy has it says which.
  await waitFor(
    `the gateway to balance by ${mode}`,
    async () => {
      const dump = JSON.stringify(await mesh.envoy.admin.configDump(false));
      const at = dump.indexOf('"name":"model~pool-model"');
      if (at < 0) return false;
      const cluster = dump.slice(at, at + 3_000);
      const now: Mode = cluster.includes('override_host') ? 'picker' : cluster.includes('LEAST_REQUEST') ? 'least_request' : 'round_robin';
      return now === mode;
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
}

interface RunResult {
  readonly label: string;
  /** The chat's turns after each conversation's first, by whether its instance had most of the prompt cached. */
  readonly chatCached: { readonly hits: number[]; readonly misses: number[] };
  /** The chat's cached later turns: the server's slot wait, and the time outside the server (gateway, its queue, the network), each sorted. */
  readonly chatSplit: { readonly serverQueued: number[]; readonly outside: number[] };
  readonly chat: number[];
  readonly batch: number[];
  readonly answered: number;
  readonly refused: number;
  readonly failed: number;
  readonly hitRate: number;
  readonly perfectRate: number;
  /** Calls the servers preempted (their priority policy). */
  readonly preemptions: number;
}

/** One run: the conversations, and the flood at `floodRate` calls/s (0: none). */
async function run(mesh: GatewayMesh, sims: readonly ModelServiceProcess[], label: string, floodRate: number, seed: string): Promise<RunResult> {
  await idle(sims);
  const before = await counters(sims);
  const results: CallResult[] = [];
  const firsts = new Set<CallResult>();
  let perfect = 0;
  const deadline = performance.now() + SECONDS * 1000;
  // Conversations: each its own long system prompt (unique to this run), turns one after another.
  const conversation = async (c: number): Promise<void> => {
    const messages: Message[] = [{ role: 'system', content: `${seed} conversation ${c}: ${words(SYSTEM_WORDS, `c${c}w`)}` }];
    let previous: Message[] | undefined;
    for (let turn = 0; performance.now() < deadline; turn++) {
      messages.push({ role: 'user', content: `turn ${turn}: tell me more about item ${turn}` });
      const sent = messages.map((m) => ({ ...m }));
      perfect += perfectHits(previous, sent);
      const r = await call(mesh, 'chat', sent);
      results.push(r);
      if (turn === 0) firsts.add(r);
      if (r.status !== 200) {
        messages.pop();
        await sleep(200);
        continue;
      }
      previous = sent;
      messages.push({ role: 'assistant', content: r.answer });
      await sleep(THINK_MS); // the user reads, then asks again
    }
  };
  // The flood: open loop, each call a one-off long prompt (nothing to reuse).
  const flood = async (): Promise<void> => {
    if (!floodRate) return;
    const pending: Array<Promise<void>> = [];
    const start = performance.now();
    for (let i = 0; ; i++) {
      const at = start + (i * 1000) / floodRate;
      if (at >= deadline) break;
      const wait = at - performance.now();
      if (wait > 0) await sleep(wait);
      pending.push(call(mesh, 'batch', [{ role: 'user', content: `${seed} job ${i}: ${words(FLOOD_WORDS, `j${i}w`)}` }]).then((r) => void results.push(r)));
    }
    await Promise.all(pending);
  };
  const started = performance.now();
  await Promise.all([...Array.from({ length: CONVERSATIONS }, (_, c) => conversation(c)), flood()]);
  const elapsed = (performance.now() - started) / 1000;
  const after = await counters(sims);
  const ttfts = (tenant: string): number[] => results.filter((r) => r.tenant === tenant && r.ttftMs !== undefined).map((r) => r.ttftMs!).sort((a, b) => a - b);
  const later = results.filter((r) => r.tenant === 'chat' && r.ttftMs !== undefined && r.promptTokens && !firsts.has(r));
  const sorted = (xs: CallResult[]) => xs.map((r) => r.ttftMs!).sort((a, b) => a - b);
  return {
    label,
    chatCached: { hits: sorted(later.filter((r) => r.cachedTokens! >= r.promptTokens! / 2)), misses: sorted(later.filter((r) => r.cachedTokens! < r.promptTokens! / 2)) },
    chatSplit: (() => {
      const cached = later.filter((r) => r.cachedTokens! >= r.promptTokens! / 2 && Number.isFinite(r.serverTtftMs));
      return { serverQueued: cached.map((r) => r.serverQueuedMs!).sort((a, b) => a - b), outside: cached.map((r) => r.ttftMs! - r.serverTtftMs!).sort((a, b) => a - b) };
    })(),
    chat: ttfts('chat'),
    batch: ttfts('batch'),
    answered: results.filter((r) => r.status === 200).length / elapsed,
    refused: results.filter((r) => r.status === 429).length / elapsed,
    failed: results.filter((r) => r.status !== 200 && r.status !== 429).length,
    hitRate: (after.hits - before.hits) / Math.max(1, after.queries - before.queries),
    // The flood's prompts can never hit: perfect affinity's rate over every prompt token the pool saw.
    perfectRate: perfect / Math.max(1, after.queries - before.queries),
    preemptions: after.preemptions - before.preemptions,
  };
}

function report(r: RunResult): void {
  const p = (xs: number[], q: number) => (xs.length ? fmt(percentile(xs, q)) : '-');
  line(
    `  ${r.label.padEnd(34)} chat TTFT p50 ${p(r.chat, 50)} p99 ${p(r.chat, 99)} ms (${r.chat.length} turns); batch TTFT p50 ${p(r.batch, 50)} p99 ${p(r.batch, 99)} ms; ` +
      `answered ${r.answered.toFixed(1)}/s, refused (429) ${r.refused.toFixed(1)}/s, failed ${r.failed}; prefix-cache hits ${(r.hitRate * 100).toFixed(1)}% (perfect affinity ${(r.perfectRate * 100).toFixed(1)}%); ${r.preemptions} preempted`,
  );
  const { hits, misses } = r.chatCached;
  const later = hits.length + misses.length;
  if (later) {
    line(
      `  ${''.padEnd(34)} chat turns after the first: ${((hits.length / later) * 100).toFixed(0)}% found most of their prompt cached (TTFT p50 ${p(hits, 50)} p99 ${p(hits, 99)} ms), ` +
        `${misses.length} did not (p50 ${p(misses, 50)} p99 ${p(misses, 99)} ms)`,
    );
    const { serverQueued, outside } = r.chatSplit;
    line(`  ${''.padEnd(34)} of the cached ones' time to first token: waiting for a slot at the server p50 ${p(serverQueued, 50)} p99 ${p(serverQueued, 99)} ms; outside the server (the gateway, its queue) p50 ${p(outside, 50)} p99 ${p(outside, 99)} ms`);
  }
}

line('a saturated model pool: picking by load and prefix, and the queue, against round robin and least request');
line(machineDescription({ envoy: toolPath('envoy') }));
line(`pool: 3 simulated GPU servers (${SIM.slice(1).join(' ')}); ${CONVERSATIONS} conversations (system prompt ${SYSTEM_WORDS} words, one turn after another, ${THINK_MS} ms between) and a flood of one-off ${FLOOD_WORDS}-word prompts; streams; ${SECONDS}s per run; everything on the 2 cores`);

line(`the processor's picker flags: ${PICKER_ARGS.join(' ') || 'its defaults'}`);
const mesh = await startGatewayMesh({ llm: true, authzPolicy: POLICY, llmArgs: PICKER_ARGS });
const rows: Array<Record<string, unknown>> = [];
try {
  const sims: ModelServiceProcess[] = [];
  for (const id of ['pool-1', 'pool-2', 'pool-3']) sims.push(await mesh.addInstance({ service: 'pool', id, meta: { models: 'pool-model', 'model-scheduling': SCHEDULING }, extraArgs: SIM }));
  await setMode(mesh, 'picker');
  await waitFor('the model to be routed', async () => (await call(mesh, 'chat', [{ role: 'user', content: 'hello' }])).status === 200, { timeoutMs: 30_000, intervalMs: 250 });

  // Capacity: the flood's calls closed-loop, twice the slots at once, for a third of a run.
  await idle(sims);
  let done = 0;
  const capDeadline = performance.now() + (SECONDS * 1000) / 3;
  const capStart = performance.now();
  await Promise.all(
    Array.from({ length: SLOTS * sims.length * 2 }, async (_, w) => {
      for (let i = 0; performance.now() < capDeadline; i++) if ((await call(mesh, 'batch', [{ role: 'user', content: `cap ${w} ${i}: ${words(FLOOD_WORDS, `k${w}.${i}w`)}` }])).status === 200) done += 1;
    }),
  );
  const capacity = done / ((performance.now() - capStart) / 1000);
  line(`capacity (one-off ${FLOOD_WORDS}-word prompts, closed loop): ${capacity.toFixed(1)} calls/s`);

  const alone = await run(mesh, sims, 'picker, chat alone', 0, 'r0');
  report(alone);
  // The flood alone is 1.5 × what the pool can serve of it; the conversations come on top.
  const floodRate = 1.5 * capacity;
  line(`the flood: ${floodRate.toFixed(1)} calls/s open loop (1.5 × capacity), the conversations on top (alone they made ${(alone.chat.length / SECONDS).toFixed(1)} calls/s)`);
  const results: RunResult[] = [alone];
  for (const mode of ['picker', 'round_robin', 'least_request'] as const) {
    await setMode(mesh, mode);
    const r = await run(mesh, sims, `${mode.replace('_', ' ')}, with the flood`, floodRate, `r-${mode}`);
    report(r);
    results.push(r);
  }
  const p99 = (r: RunResult) => percentile(r.chat, 99);
  const [, picked, rr] = results as [RunResult, RunResult, RunResult, RunResult];
  line();
  line(`chat TTFT p99, picker against round robin: ${(p99(picked) / p99(rr)).toFixed(2)}× (goal ≤ 0.5×)`);
  line(`prefix-cache hit rate, picker against perfect affinity: ${((picked.hitRate / picked.perfectRate) * 100).toFixed(0)}% (goal ≥ 80%)`);
  line(`chat TTFT p99 with the flood against without: ${((p99(picked) / p99(alone) - 1) * 100).toFixed(0)}% higher (goal ≤ 20%)`);
  if (ROUNDS > 1) {
    // More rounds of the two runs the goal compares, in turns; then the turns of all rounds pooled.
    const alones = [alone];
    const floods = [picked];
    await setMode(mesh, 'picker');
    for (let k = 2; k <= ROUNDS; k++) {
      const a = await run(mesh, sims, `picker, chat alone (round ${k})`, 0, `r0-${k}`);
      report(a);
      const f = await run(mesh, sims, `picker, with the flood (round ${k})`, floodRate, `r-picker-${k}`);
      report(f);
      alones.push(a);
      floods.push(f);
    }
    const pooled = (rs: RunResult[]) => rs.flatMap((r) => r.chat).sort((a, b) => a - b);
    const [pa, pf] = [pooled(alones), pooled(floods)];
    const perRound = alones.map((a, i) => `${((p99(floods[i]!) / p99(a) - 1) * 100).toFixed(0)}%`).join(', ');
    line(`over ${ROUNDS} rounds (${pa.length} and ${pf.length} chat turns): chat TTFT p50 ${fmt(percentile(pa, 50))} → ${fmt(percentile(pf, 50))} ms, p99 ${fmt(percentile(pa, 99))} → ${fmt(percentile(pf, 99))} ms: ${((percentile(pf, 99) / percentile(pa, 99) - 1) * 100).toFixed(0)}% higher pooled (goal ≤ 20%); round by round ${perRound}`);
    rows.push({ run: `pooled over ${ROUNDS} rounds`, chat_alone_p99_ms: percentile(pa, 99), chat_flood_p99_ms: percentile(pf, 99), chat_alone_turns: pa.length, chat_flood_turns: pf.length });
  }
  for (const r of results) rows.push({ run: r.label, chat_ttft_p50_ms: percentile(r.chat, 50), chat_ttft_p99_ms: p99(r), batch_ttft_p99_ms: r.batch.length ? percentile(r.batch, 99) : null, answered_per_s: r.answered, refused_per_s: r.refused, failed: r.failed, preemptions: r.preemptions, prefix_hit_rate: r.hitRate, perfect_hit_rate: r.perfectRate, capacity_per_s: capacity });

  // What the picker costs a call on an idle pool: sequential short calls, picker on and off in turns.
  line();
  line('what the picker costs a call on an idle pool (sequential short JSON calls, 4 rounds of 200 in turns; the processor\'s CPU less what it spends as long without calls)');
  const processor = mesh.llm!.process.pid!;
  const cost: Record<string, { ms: number[]; cpu: number; n: number }> = { picker: { ms: [], cpu: 0, n: 0 }, round_robin: { ms: [], cpu: 0, n: 0 } };
  for (let round = 0; round < 4; round++) {
    for (const mode of ['picker', 'round_robin'] as const) {
      await setMode(mesh, mode);
      await idle(sims);
      const c = cost[mode]!;
      const cpu0 = cpuSeconds(processor);
      for (let i = 0; i < 200; i++) {
        const t0 = performance.now();
        const r = await fetch(`${mesh.gatewayUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': CHAT_KEY }, body: JSON.stringify({ model: 'pool-model', max_tokens: 1, messages: [{ role: 'user', content: `idle ${round} ${i} ${words(20, 'i')}` }] }) });
        await r.arrayBuffer();
        c.ms.push(performance.now() - t0);
      }
      const busy = cpuSeconds(processor) - cpu0;
      // What the processor spends anyway (reading the instances' metrics, its ADS stream) over as long, without calls.
      const quiet0 = cpuSeconds(processor);
      const t1 = performance.now();
      await sleep(c.ms.slice(-200).reduce((a, b) => a + b, 0));
      const quiet = cpuSeconds(processor) - quiet0;
      c.cpu += busy - quiet * ((performance.now() - t1) > 0 ? 1 : 0);
      c.n += 200;
    }
  }
  for (const [mode, c] of Object.entries(cost)) {
    const sorted = [...c.ms].sort((a, b) => a - b);
    line(`  ${mode.replace('_', ' ').padEnd(12)} p50 ${fmt(percentile(sorted, 50))} ms, p99 ${fmt(percentile(sorted, 99))} ms; the processor ${((c.cpu / c.n) * 1e6).toFixed(0)} µs CPU per call`);
    rows.push({ run: `idle cost: ${mode}`, p50_ms: percentile(sorted, 50), p99_ms: percentile(sorted, 99), processor_cpu_us_per_call: (c.cpu / c.n) * 1e6 });
  }
} finally {
  await mesh.stop();
}
if (JSON_OUT) {
  fs.writeFileSync(JSON_OUT, JSON.stringify(rows, null, 2));
  line(`rows written to ${JSON_OUT}`);
}
