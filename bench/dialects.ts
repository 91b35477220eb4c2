// What translating between model API dialects costs a call, against the same call untranslated,
// in one mesh in the same run (a gateway Envoy, the processor, an OpenAI-style and an
// Anthropic-style demo model service). Kinds of call, caller → service:
//   openai → openai        the baseline: bytes passed on, the usage read (as before dialects)
//   anthropic → openai     translated both ways (request; answer or stream, event by event)
//   responses → openai     OpenAI's Responses API, translated both ways
//   anthropic → anthropic  one dialect: passed on, the answer read in the Messages API's shape
//   openai → anthropic     translated both ways, against the line above
// JSON calls, one at a time, in rounds (each kind in turn, BENCH_CALLS each per round,
// BENCH_ROUNDS rounds): latency p50/p99 and the processor's CPU per call; then streams of
// BENCH_STREAM_WORDS chunks: time to the first text event at the caller, p50/p99. Prompts of
// about 1 KB. BENCH_JSON writes the rows.
import fs from 'node:fs';
import { startGatewayMesh, type GatewayMesh } from '../launcher/mesh.js';
import { toolPath } from '../launcher/repo.js';
import { waitFor } from '../launcher/wait.js';
import { cpuSeconds } from './lib/proc.js';
import { fmt, machineDescription, percentile } from './lib/stats.js';

const CALLS = Number(process.env['BENCH_CALLS'] ?? 200);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const STREAM_WORDS = Number(process.env['BENCH_STREAM_WORDS'] ?? 10);
const JSON_OUT = process.env['BENCH_JSON'];
const line = (s = ''): void => void process.stdout.write(`${s}\n`);

const MODELS = { openai: 'oa-8b', anthropic: 'an-8b' } as const;
/** About 1 KB of prompt: 200 short words. */
const PROMPT = Array.from({ length: 200 }, (_, i) => `word${i % 10}`).join(' ');

interface Kind {
  readonly name: string;
  readonly baseline: string | undefined;
  readonly path: string;
  readonly headers: Record<string, string>;
  body(stream: boolean, words: string): string;
  /** The bytes that mark the first text of a stream in the caller's dialect. */
  readonly firstText: string;
}

const openaiBody = (model: string) => (stream: boolean, words: string): string => JSON.stringify({ model, max_tokens: 600, stream, messages: [{ role: 'user', content: words }] });
const anthropicBody = (model: string) => (stream: boolean, words: string): string => JSON.stringify({ model, max_tokens: 600, stream, messages: [{ role: 'user', content: words }] });
const ANTHROPIC_HEADERS = { 'anthropic-version': '2023-06-01' };

const KINDS: readonly Kind[] = [
  { name: 'openai → openai', baseline: undefined, path: '/v1/chat/completions', headers: {}, body: openaiBody(MODELS.openai), firstText: '"content":"You' },
  { name: 'anthropic → openai', baseline: 'openai → openai', path: '/v1/messages', headers: ANTHROPIC_HEADERS, body: anthropicBody(MODELS.openai), firstText: '"text_delta"' },
  {
    name: 'responses → openai',
    baseline: 'openai → openai',
    path: '/v1/responses',
    headers: {},
    body: (stream, words) => JSON.stringify({ model: MODELS.openai, max_output_tokens: 600, stream, input: words }),
    firstText: 'response.output_text.delta',
  },
  { name: 'anthropic → anthropic', baseline: undefined, path: '/v1/messages', headers: ANTHROPIC_HEADERS, body: anthropicBody(MODELS.anthropic), firstText: '"text_delta"' },
  { name: 'openai → anthropic', baseline: 'anthropic → anthropic', path: '/v1/chat/completions', headers: {}, body: openaiBody(MODELS.anthropic), firstText: '"content":"You' },
];

async function call(mesh: GatewayMesh, k: Kind, stream: boolean, words: string): Promise<{ ms: number; ttftMs?: number }> {
  const t0 = performance.now();
  const r = await fetch(`${mesh.gatewayUrl}${k.path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...k.headers }, body: k.body(stream, words) });
  if (r.status !== 200) throw new Error(`${k.name}: ${r.status} ${await r.text()}`);
  if (!stream) {
    await r.arrayBuffer();
    return { ms: performance.now() - t0 };
  }
  let ttftMs: number | undefined;
  let seen = '';
  const decoder = new TextDecoder();
  for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
    if (ttftMs === undefined) {
      seen += decoder.decode(chunk, { stream: true });
      if (seen.includes(k.firstText)) ttftMs = performance.now() - t0;
    }
  }
  return { ms: performance.now() - t0, ...(ttftMs !== undefined ? { ttftMs } : {}) };
}

interface Row {
  kind: string;
  p50_ms: number;
  p99_ms: number;
  processor_us_per_call: number;
  stream_ttft_p50_ms: number;
  stream_ttft_p99_ms: number;
}

async function main(): Promise<void> {
  line('bench/dialects: what translating between model API dialects adds to a call');
  line(machineDescription({ envoy: toolPath('envoy'), consul: toolPath('consul') }));
  line(`calls: ${CALLS} per kind per round, ${ROUNDS} rounds, one at a time; streams of ${STREAM_WORDS} chunks; prompts of ${PROMPT.length} bytes`);
  const mesh = await startGatewayMesh({ llm: true });
  try {
    await mesh.addInstance({ service: 'bench-oa', id: 'bench-oa-1', meta: { models: MODELS.openai } });
    await mesh.addInstance({ service: 'bench-an', id: 'bench-an-1', meta: { models: MODELS.anthropic, 'model-dialect': 'anthropic' } });
    await waitFor('every kind of call answered', async () => (await Promise.all(KINDS.map((k) => call(mesh, k, false, 'x').then(() => true, () => false)))).every(Boolean), { timeoutMs: 30_000, intervalMs: 200 });
    const pid = mesh.llm!.process.pid;
    const latency = new Map<string, number[]>(KINDS.map((k) => [k.name, []]));
    const cpu = new Map<string, number>(KINDS.map((k) => [k.name, 0]));
    const ttft = new Map<string, number[]>(KINDS.map((k) => [k.name, []]));
    // Warm-up: every path's code compiled before anything is counted.
    for (const k of KINDS) for (let i = 0; i < 50; i++) await call(mesh, k, i % 2 === 0, PROMPT);
    for (let round = 0; round < ROUNDS; round++) {
      for (const k of KINDS) {
        const c0 = cpuSeconds(pid);
        for (let i = 0; i < CALLS; i++) latency.get(k.name)!.push((await call(mesh, k, false, PROMPT)).ms);
        cpu.set(k.name, cpu.get(k.name)! + cpuSeconds(pid) - c0);
      }
      const words = Array.from({ length: STREAM_WORDS }, (_, i) => `s${i}`).join(' ');
      for (const k of KINDS) for (let i = 0; i < CALLS / 4; i++) ttft.get(k.name)!.push((await call(mesh, k, true, `${words} ${PROMPT}`)).ttftMs ?? NaN);
    }
    const rows: Row[] = KINDS.map((k) => {
      const l = [...latency.get(k.name)!].sort((a, b) => a - b);
      const t = [...ttft.get(k.name)!].filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
      return {
        kind: k.name,
        p50_ms: percentile(l, 50),
        p99_ms: percentile(l, 99),
        processor_us_per_call: (cpu.get(k.name)! * 1e6) / (CALLS * ROUNDS),
        stream_ttft_p50_ms: percentile(t, 50),
        stream_ttft_p99_ms: percentile(t, 99),
      };
    });
    const byName = new Map(rows.map((r) => [r.kind, r]));
    line();
    line('| caller → service | JSON p50 / p99 | added p50 / p99 | processor µs CPU per call (added) | stream: first text p50 / p99 | added p50 / p99 |');
    line('|---|---|---|---|---|---|');
    for (const k of KINDS) {
      const r = byName.get(k.name)!;
      const b = k.baseline ? byName.get(k.baseline)! : undefined;
      const added = (x: number, y: number | undefined): string => (y === undefined ? '—' : `${x - y >= 0 ? '+' : ''}${fmt(x - y)}`);
      line(
        `| ${k.name}${b ? '' : ' (baseline)'} | ${fmt(r.p50_ms)} / ${fmt(r.p99_ms)} ms | ${added(r.p50_ms, b?.p50_ms)} / ${added(r.p99_ms, b?.p99_ms)} | ${r.processor_us_per_call.toFixed(0)}${b ? ` (${added(r.processor_us_per_call, b.processor_us_per_call)})` : ''} | ${fmt(r.stream_ttft_p50_ms)} / ${fmt(r.stream_ttft_p99_ms)} ms | ${added(r.stream_ttft_p50_ms, b?.stream_ttft_p50_ms)} / ${added(r.stream_ttft_p99_ms, b?.stream_ttft_p99_ms)} |`,
      );
    }
    if (JSON_OUT) fs.writeFileSync(JSON_OUT, `${JSON.stringify(rows, null, 1)}\n`);
  } finally {
    await mesh.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
