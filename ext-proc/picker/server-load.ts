// What a model server says of its load on /metrics, in vLLM's names: calls running and waiting,
// and the share of its KV cache in use (vLLM ≥ 0.10's `kv_cache_usage_perc`, or the older
// `gpu_cache_usage_perc`). Only these lines are read; a text without them is no answer.
export interface ServerLoad {
  readonly running: number;
  readonly waiting: number;
  /** 0..1 */
  readonly kvUsage: number;
}

const NAMES: Readonly<Record<string, keyof ServerLoad>> = {
  'vllm:num_requests_running': 'running',
  'vllm:num_requests_waiting': 'waiting',
  'vllm:kv_cache_usage_perc': 'kvUsage',
  'vllm:gpu_cache_usage_perc': 'kvUsage',
};

/** The load in a Prometheus text exposition; series of one name (one per model) are added up. */
export function parseServerLoad(text: string): ServerLoad | undefined {
  const load = { running: 0, waiting: 0, kvUsage: 0 };
  let seen = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('vllm:')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    const name = line.slice(0, brace >= 0 ? brace : line.indexOf(' '));
    const field = NAMES[name];
    if (!field || space < 0) continue;
    const value = Number(line.slice(space + 1));
    if (!Number.isFinite(value) || value < 0) continue;
    load[field] = field === 'kvUsage' ? Math.max(load.kvUsage, value) : load[field] + value;
    seen += 1;
  }
  return seen ? { ...load, kvUsage: Math.min(1, load.kvUsage) } : undefined;
}
