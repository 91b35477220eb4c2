import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GpuSimulator, PrefixCache, promptBlocks, ServerBusyError, type SimOptions } from '../../demo/gpu-sim.js';

const words = (n: number, prefix = 'w'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const FAST: SimOptions = { slots: 2, blockTokens: 4, kvBlocks: 64, prefillMsPerToken: 0, decodeMsPerToken: 1, maxWaiting: 2 };

describe('the simulated GPU server', () => {
  it('names only full blocks, each by everything before it', () => {
    const a = promptBlocks(words(10), 4);
    assert.equal(a.length, 2);
    const b = promptBlocks([...words(8), 'x', 'y', 'z', 'q'], 4);
    assert.deepEqual(b.slice(0, 2), a, 'a shared prefix has the same block names');
    const c = promptBlocks(['other', ...words(7)], 4);
    assert.notEqual(c[1], a[1], 'a block after a different one has another name, though its own tokens are the same');
  });

  it('counts the leading cached blocks and evicts the least recently used', () => {
    const cache = new PrefixCache(3);
    const [x, y, z] = promptBlocks(words(12), 4) as [string, string, string];
    assert.equal(cache.lookup([x, y, z]), 0);
    cache.insert([x, y, z]);
    assert.equal(cache.lookup([x, y, z]), 3);
    assert.equal(cache.lookup([y]), 1);
    cache.insert(['other']); // x is the least recently used now (y was touched after it)
    assert.equal(cache.lookup([x, y, z]), 0, 'the first block is gone, so nothing after it counts');
    assert.equal(cache.size, 3);
  });

  it('queues past its slots, refuses past its queue, and reports what vLLM reports', async () => {
    const gpu = new GpuSimulator(FAST);
    const prompt = words(8);
    const calls = [0, 1, 2, 3].map(() => gpu.run({ promptTokens: prompt, outputTokens: 20 }, () => undefined));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(gpu.load, { running: 2, waiting: 2 });
    assert.match(gpu.metricsText('m'), /^vllm:num_requests_waiting\{model_name="m"\} 2$/m);
    await assert.rejects(gpu.run({ promptTokens: prompt, outputTokens: 1 }, () => undefined), ServerBusyError);
    const outcomes = await Promise.all(calls);
    assert.ok(outcomes[2]!.queuedMs > 10, 'the third call waited for a slot');
    // The first two prefilled together before either cached; the last two found the prompt cached.
    assert.deepEqual(outcomes.map((o) => o.cachedTokens), [0, 0, 8, 8]);
    const text = gpu.metricsText('m');
    assert.match(text, /^vllm:prefix_cache_queries_total\{model_name="m"\} 32$/m);
    assert.match(text, /^vllm:prefix_cache_hits_total\{model_name="m"\} 16$/m);
    assert.match(text, /^vllm:generation_tokens_total\{model_name="m"\} 80$/m);
    assert.match(text, /^vllm:num_requests_running\{model_name="m"\} 0$/m);
  });

  it('skips the prefill of cached tokens', async () => {
    const gpu = new GpuSimulator({ ...FAST, prefillMsPerToken: 2, decodeMsPerToken: 0 });
    const first = await gpu.run({ promptTokens: words(40), outputTokens: 1 }, () => undefined);
    const again = await gpu.run({ promptTokens: [...words(40), 'next', 'turn'], outputTokens: 1 }, () => undefined);
    assert.equal(again.cachedTokens, 40);
    assert.ok(first.ttftMs >= 70 && again.ttftMs < first.ttftMs / 2, `first ${first.ttftMs} ms, again ${again.ttftMs} ms`);
  });
});
