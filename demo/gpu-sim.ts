// A simulated GPU model server, for the demo model service's `--sim` mode: what the gateway's
// endpoint picker and fair queue are tested against. It behaves as vLLM does where the gateway
// can see it, not as a model computes:
//   - a fixed number of batch slots; a call past them waits in the server's own FIFO queue (up
//     to a bound, then 503, as a server out of memory would);
//   - time to first token = the wait for a slot + prefill of the prompt's *uncached* tokens;
//   - a prefix cache of prompt blocks (a block is `blockTokens` tokens, named by the hash of
//     everything before it and itself, as vLLM's automatic prefix caching names them), least
//     recently used out first: a prompt whose leading blocks are cached skips their prefill;
//   - output paced per token;
//   - vLLM's two scheduling policies (`--scheduling-policy`): `fcfs`, where a call's `priority`
//     must be 0, and `priority`, where the waiting call with the lowest (priority, arrival) goes
//     first and, no slot being free, takes the slot of the running call with the highest one when
//     that is worse than its own: that call is preempted by recompute (vLLM's
//     _schedule_priority_preemption), waits again, and prefills its prompt and what it had
//     generated before it goes on;
//   - vLLM's metric names on /metrics: requests running and waiting, KV-cache use, prefix-cache
//     queries and hits (in tokens), prompt and generation tokens, preemptions.
// It is a simulator: no model runs; the numbers are its flags.
import { createHash } from 'node:crypto';
import { contentText } from '../shared/openai-messages.js';

export interface SimOptions {
  /** Calls decoded at once (a batch's slots). */
  readonly slots: number;
  /** Tokens per KV block. */
  readonly blockTokens: number;
  /** KV blocks on the "GPU": running calls hold theirs; the prefix cache keeps at most this many. */
  readonly kvBlocks: number;
  /** Prefill time per uncached prompt token. */
  readonly prefillMsPerToken: number;
  /** Time per output token. */
  readonly decodeMsPerToken: number;
  /** Calls waiting for a slot before the server refuses (503). */
  readonly maxWaiting: number;
  /** vLLM's `--scheduling-policy`: first come first served, or by each call's `priority`, preempting. */
  readonly schedulingPolicy: SchedulingPolicy;
}

export type SchedulingPolicy = 'fcfs' | 'priority';

export const SIM_DEFAULTS: SimOptions = { slots: 4, blockTokens: 16, kvBlocks: 4096, prefillMsPerToken: 0.5, decodeMsPerToken: 5, maxWaiting: 1024, schedulingPolicy: 'fcfs' };

/** The simulator's tokens of a chat prompt: each message's role, then its words. */
export function promptTokens(request: { readonly messages: ReadonlyArray<{ readonly role: string; readonly content?: unknown }> }): string[] {
  return request.messages.flatMap((m) => [`<${m.role}>`, ...contentText(m.content).split(/\s+/).filter(Boolean)]);
}

/** The names of a prompt's full blocks, each the hash of its parent's name and its own tokens. */
export function promptBlocks(tokens: readonly string[], blockTokens: number): string[] {
  const out: string[] = [];
  let parent = '';
  for (let end = blockTokens; end <= tokens.length; end += blockTokens) {
    parent = createHash('sha256').update(parent).update('\u0000').update(tokens.slice(end - blockTokens, end).join(' ')).digest('base64url').slice(0, 22);
    out.push(parent);
  }
  return out;
}

/** Block names, least recently used first (a Map keeps insertion order: a touch re-inserts). */
export class PrefixCache {
  private readonly blocks = new Map<string, true>();
  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.blocks.size;
  }

  /** How many of `blocks`' leading blocks are cached (those are touched). */
  lookup(blocks: readonly string[]): number {
    let n = 0;
    for (const b of blocks) {
      if (!this.blocks.has(b)) break;
      this.blocks.delete(b);
      this.blocks.set(b, true);
      n += 1;
    }
    return n;
  }

  insert(blocks: readonly string[]): void {
    for (const b of blocks) {
      this.blocks.delete(b);
      this.blocks.set(b, true);
      if (this.blocks.size > this.capacity) this.blocks.delete(this.blocks.keys().next().value!);
    }
  }
}

export class ServerBusyError extends Error {}

/** A `priority` the server's policy does not take (vLLM answers it 400). */
export class PriorityNotEnabledError extends Error {}

export interface SimCall {
  readonly promptTokens: readonly string[];
  readonly outputTokens: number;
  /** vLLM's request `priority`: lower goes first; 0 unless said. */
  readonly priority?: number;
}

/** A call holding or waiting for a slot. */
interface Seat {
  readonly priority: number;
  readonly arrival: number;
  /** Its slot was taken by a call of better priority: it gives up at its next step. */
  preempted: boolean;
  /** Set while it waits: gives it the slot. */
  wake?: () => void;
}

/** Whether `a` goes before `b`: lower priority, then earlier arrival (vLLM's ordering). */
const before = (a: Seat, b: Seat): boolean => a.priority < b.priority || (a.priority === b.priority && a.arrival < b.arrival);

export interface SimOutcome {
  readonly cachedTokens: number;
  readonly queuedMs: number;
  readonly ttftMs: number;
}

const sleep = (ms: number): Promise<void> => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

export class GpuSimulator {
  private readonly running = new Set<Seat>();
  private readonly waiting: Seat[] = [];
  private arrivals = 0;
  /** KV blocks held by running calls. */
  private heldBlocks = 0;
  private readonly cache: PrefixCache;
  private readonly counters = { prefixQueries: 0, prefixHits: 0, promptTokens: 0, generationTokens: 0, success: 0, refused: 0, preemptions: 0 };

  constructor(readonly options: SimOptions) {
    this.cache = new PrefixCache(options.kvBlocks);
  }

  get load(): { running: number; waiting: number } {
    return { running: this.running.size, waiting: this.waiting.length };
  }

  /**
   * One call: waits for a slot, prefills what is not cached, then emits `outputTokens` tokens
   * through `onToken` (the first one is the time to first token). `isGone` ends a call whose
   * caller left, freeing its slot. Under the priority policy it may lose its slot to a better
   * call on the way (before a token): it waits again, prefills again, and goes on.
   */
  async run(call: SimCall, onToken: (index: number, first: { queuedMs: number; ttftMs: number }) => void, isGone: () => boolean = () => false): Promise<SimOutcome> {
    const o = this.options;
    const priority = call.priority ?? 0;
    if (priority !== 0 && o.schedulingPolicy !== 'priority') throw new PriorityNotEnabledError(`Got priority ${priority} but Priority scheduling is not enabled.`);
    if (this.running.size >= o.slots && this.waiting.length >= o.maxWaiting) {
      this.counters.refused += 1;
      throw new ServerBusyError(`${this.waiting.length} calls waiting already`);
    }
    const seat: Seat = { priority, arrival: this.arrivals++, preempted: false };
    const started = performance.now();
    await this.seat(seat);
    const queuedMs = performance.now() - started;
    const blocks = promptBlocks(call.promptTokens, o.blockTokens);
    const held = Math.ceil((call.promptTokens.length + call.outputTokens) / o.blockTokens);
    this.heldBlocks += held;
    const hitBlocks = this.cache.lookup(blocks);
    const cachedTokens = hitBlocks * o.blockTokens;
    this.counters.prefixQueries += call.promptTokens.length;
    this.counters.prefixHits += cachedTokens;
    this.counters.promptTokens += call.promptTokens.length;
    let ttftMs = 0;
    let holding = true;
    try {
      await sleep((call.promptTokens.length - cachedTokens) * o.prefillMsPerToken);
      this.cache.insert(blocks);
      for (let i = 0; i < call.outputTokens; ) {
        if (seat.preempted) {
          // Preempted by recompute: its blocks freed, it waits for a slot again, then prefills
          // its prompt (what the cache kept of it is skipped) and the tokens it had made.
          this.heldBlocks -= held;
          holding = false;
          seat.preempted = false;
          await this.seat(seat);
          this.heldBlocks += held;
          holding = true;
          const kept = this.cache.lookup(blocks) * o.blockTokens;
          await sleep((call.promptTokens.length - kept + i) * o.prefillMsPerToken);
          continue;
        }
        await sleep(o.decodeMsPerToken);
        if (isGone()) break;
        if (seat.preempted) continue; // this step's token was not made: the slot went before it
        if (i === 0) ttftMs = performance.now() - started;
        this.counters.generationTokens += 1;
        onToken(i, { queuedMs, ttftMs });
        i += 1;
      }
      this.counters.success += 1;
    } finally {
      if (holding) this.heldBlocks -= held;
      this.leave(seat);
    }
    return { cachedTokens, queuedMs, ttftMs };
  }

  /** Resolves once `seat` holds a slot: a free one, the slot of a worse call (priority policy), or its turn in the line. */
  private seat(seat: Seat): Promise<void> {
    if (this.running.size < this.options.slots) {
      this.running.add(seat);
      return Promise.resolve();
    }
    if (this.options.schedulingPolicy === 'priority') {
      let worst: Seat | undefined;
      for (const r of this.running) if (!worst || before(worst, r)) worst = r;
      if (worst && before(seat, worst)) {
        this.running.delete(worst);
        worst.preempted = true;
        this.counters.preemptions += 1;
        this.running.add(seat);
        return Promise.resolve();
      }
    }
    return new Promise<void>((resolve) => {
      seat.wake = resolve;
      this.waiting.push(seat);
    });
  }

  /** `seat` is done (or was preempted and is done): its slot, if it still holds one, goes to the next in line. */
  private leave(seat: Seat): void {
    if (!this.running.delete(seat)) return;
    if (!this.waiting.length) return;
    let next = 0;
    if (this.options.schedulingPolicy === 'priority') for (let i = 1; i < this.waiting.length; i++) if (before(this.waiting[i]!, this.waiting[next]!)) next = i;
    const [seatNext] = this.waiting.splice(next, 1);
    this.running.add(seatNext!);
    seatNext!.wake?.();
    seatNext!.wake = undefined;
  }

  /** vLLM's metric names, labelled by the model as vLLM labels them. */
  metricsText(model: string): string {
    const l = `{model_name="${model.replace(/["\\\n]/g, '_')}"}`;
    const c = this.counters;
    const o = this.options;
    const series: ReadonlyArray<readonly [name: string, type: 'gauge' | 'counter', help: string, value: number]> = [
      ['vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.', this.running.size],
      ['vllm:num_requests_waiting', 'gauge', 'Number of requests waiting to be processed.', this.waiting.length],
      ['vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage. 1 means 100 percent usage.', Math.min(1, this.heldBlocks / o.kvBlocks)],
      ['vllm:prefix_cache_queries_total', 'counter', 'Prefix cache queries, in terms of number of queried tokens.', c.prefixQueries],
      ['vllm:prefix_cache_hits_total', 'counter', 'Prefix cache hits, in terms of number of cached tokens.', c.prefixHits],
      ['vllm:prompt_tokens_total', 'counter', 'Number of prefill tokens processed.', c.promptTokens],
      ['vllm:generation_tokens_total', 'counter', 'Number of generation tokens processed.', c.generationTokens],
      ['vllm:request_success_total', 'counter', 'Count of successfully processed requests.', c.success],
      ['vllm:num_preemptions_total', 'counter', 'Cumulative number of preemption from the engine.', c.preemptions],
    ];
    return [
      ...series.map(([name, type, help, value]) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name}${l} ${value}`),
      '# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig',
      '# TYPE vllm:cache_config_info gauge',
      `vllm:cache_config_info{block_size="${o.blockTokens}",num_gpu_blocks="${o.kvBlocks}",enable_prefix_caching="True"} 1`,
      '',
    ].join('\n');
  }
}
