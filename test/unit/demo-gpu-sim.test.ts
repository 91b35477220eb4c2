import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GpuSimulator, PrefixCache, PriorityNotEnabledError, promptBlocks, ServerBusyError, type SimOptions } from '../../demo/gpu-sim.js';

const words = (n: number, prefix = 'w'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const FAST: SimOptions = { slots: 2, blockTokens: 4, kvBlocks: 64, prefillMsPerToken: 0, decodeMsPerToken: 1, maxWaiting: 2, schedulingPolicy: 'fcfs' };

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

  it('takes no priority but 0 under fcfs, as vLLM refuses one', async () => {
    const gpu = new GpuSimulator(FAST);
    await assert.rejects(gpu.run({ promptTokens: words(4), outputTokens: 1, priority: 1 }, () => undefined), PriorityNotEnabledError);
    await gpu.run({ promptTokens: words(4), outputTokens: 1, priority: 0 }, () => undefined);
  });

  it('under the priority policy, a better call takes the slot of the worst running one, which waits, prefills again and still says every token in order', async () => {
    const gpu = new GpuSimulator({ ...FAST, schedulingPolicy: 'priority', maxWaiting: 8, prefillMsPerToken: 0.5 });
    const said: number[][] = [[], []];
    const batch = [0, 1].map((k) => gpu.run({ promptTokens: words(8, `b${k}`), outputTokens: 30 }, (i) => said[k]!.push(i)).then((o) => ({ k, o })));
    batch.forEach((b) => void b.catch(() => undefined));
    // The two batch calls (priority 0) fill both slots; the chat call's -1 is better.
    await new Promise((r) => setTimeout(r, 15));
    assert.deepEqual(gpu.load, { running: 2, waiting: 0 });
    const chat = await gpu.run({ promptTokens: words(8, 'chat'), outputTokens: 3, priority: -1 }, () => undefined);
    assert.ok(chat.queuedMs < 5, `the better call found a slot at once (waited ${chat.queuedMs} ms)`);
    assert.match(gpu.metricsText('m'), /^vllm:num_preemptions_total\{model_name="m"\} 1$/m);
    await Promise.all(batch);
    for (const s of said) assert.deepEqual(s, Array.from({ length: 30 }, (_, i) => i), 'every token once, in order, the preempted call too');
    assert.match(gpu.metricsText('m'), /^vllm:generation_tokens_total\{model_name="m"\} 63$/m);
  });

  it('under the priority policy, serves the waiting line by priority, then arrival, and preempts nobody of its own priority', async () => {
    const gpu = new GpuSimulator({ ...FAST, slots: 1, schedulingPolicy: 'priority', maxWaiting: 8 });
    const order: string[] = [];
    const run = (name: string, priority: number) => gpu.run({ promptTokens: words(4, name), outputTokens: 5, priority }, () => undefined).then(() => order.push(name));
    const first = run('first', 2);
    await new Promise((r) => setImmediate(r));
    const rest = [run('later-2', 2), run('later-1a', 1), run('later-1b', 1)];
    await Promise.all([first, ...rest]);
    assert.match(gpu.metricsText('m'), /^vllm:num_preemptions_total\{model_name="m"\} 1$/m, 'the first priority-1 call took the slot of the priority-2 one; the second waited behind it');
    assert.deepEqual(order, ['later-1a', 'later-1b', 'first', 'later-2'], 'by priority, then arrival: the preempted call before the later one of its priority');
  });
});
