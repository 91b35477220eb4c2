import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FairQueue, isPriority, lowerOf, type Waiter } from '../../ext-proc/picker/fair-queue.js';
import { DEFAULT_WEIGHTS, pick, preemptable, serverPriorityOf, type Candidate } from '../../ext-proc/picker/pick.js';
import { poolOf } from '../../ext-proc/picker/pool-view.js';
import { PrefixIndex, prefixBlocks } from '../../ext-proc/picker/prefix-index.js';
import { parseServerLoad } from '../../ext-proc/picker/server-load.js';

const idle = { running: 0, waiting: 0, kvUsage: 0.1 };
const at = (address: string, waiting: number, extra: Partial<Candidate> = {}): Candidate => ({ address, priority: 0, healthy: true, load: { ...idle, running: 1, waiting }, sentSince: 0, ...extra });
const first = () => 0;
/** Saturated at five waiting: room to tell queue lengths apart. */
const W5 = { ...DEFAULT_WEIGHTS, queueThreshold: 5 };

describe('the endpoint picker', () => {
  it('reads vLLM’s load lines and nothing else', () => {
    const text = [
      '# HELP vllm:num_requests_running x',
      'vllm:num_requests_running{model_name="a"} 2',
      'vllm:num_requests_waiting{model_name="a"} 3',
      'vllm:num_requests_waiting{model_name="b"} 1',
      'vllm:gpu_cache_usage_perc{model_name="a"} 0.5',
      'vllm:kv_cache_usage_perc{model_name="a"} 0.25',
      'process_cpu_seconds_total 9',
    ].join('\n');
    assert.deepEqual(parseServerLoad(text), { running: 2, waiting: 4, kvUsage: 0.5 });
    assert.equal(parseServerLoad('{"msg":"an echo, not metrics"}'), undefined);
    assert.equal(parseServerLoad('vllm:num_requests_waiting{a="b"} NaN'), undefined);
  });

  it('goes to the shortest queue, counting the calls it sent since the last read', () => {
    assert.deepEqual(pick([at('a', 3), at('b', 1), at('c', 2)], new Map(), 0, W5, first), { address: 'b', reason: 'load' });
    assert.equal(pick([at('a', 3), at('b', 1, { sentSince: 3 }), at('c', 2)], new Map(), 0, W5, first)?.address, 'c');
  });

  it('keeps a prefix on its instance until that instance is saturated', () => {
    const blocks = 4;
    assert.deepEqual(pick([at('a', 2), at('b', 0)], new Map([['a', 4]]), blocks, W5, first), { address: 'a', reason: 'prefix' });
    assert.deepEqual(pick([at('a', 5), at('b', 0)], new Map([['a', 4]]), blocks, W5, first), { address: 'b', reason: 'load' });
    // A long prompt: the call goes elsewhere, and says its prefix is held there (it may wait for it: --picker-affinity-wait).
    assert.deepEqual(pick([at('a', 5), at('b', 0)], new Map([['a', 12]]), 16, W5, first), { address: 'b', reason: 'load', heldElsewhere: true });
    assert.equal(pick([at('a', 5), at('b', 0)], new Map([['a', 7]]), 16, W5, first)?.heldElsewhere, undefined, 'less than half the prompt is not worth a wait');
    assert.equal(pick([at('a', 5), at('b', 0)], new Map([['a', 7]]), 8, W5, first)?.heldElsewhere, undefined, 'nor a short prefix: prefilling it again costs less');
    const fullCache = { ...at('a', 0), load: { running: 1, waiting: 0, kvUsage: 0.9 } };
    assert.equal(pick([fullCache, at('b', 1)], new Map([['a', 4]]), blocks, W5, first)?.address, 'b', 'a KV cache past the threshold saturates too');
  });

  it('counts an instance whose batch is full as saturated, once it has shown its batch size', () => {
    const full = at('a', 0, { load: { running: 4, waiting: 0, kvUsage: 0.1 }, capacity: 4 });
    const room = at('b', 0, { load: { running: 3, waiting: 0, kvUsage: 0.1 }, capacity: 4 });
    assert.deepEqual(pick([full, room], new Map([['a', 4]]), 4, DEFAULT_WEIGHTS, first), { address: 'b', reason: 'load' }, 'the prefix gives way to a free slot');
    assert.equal(pick([full, at('b', 0, { load: { running: 3, waiting: 0, kvUsage: 0.1 }, capacity: 4, sentSince: 1 })], new Map(), 0, DEFAULT_WEIGHTS, first)?.reason, 'saturated', 'a call sent since the read takes the last slot');
    assert.equal(pick([{ ...full, capacity: undefined }], new Map(), 0, DEFAULT_WEIGHTS, first)?.reason, 'load', 'a batch size not yet shown is not guessed');
    assert.equal(pick([full], new Map(), 0, { ...DEFAULT_WEIGHTS, fullBatch: false }, first)?.reason, 'load', '--picker-full-batch off');
  });

  it('says when every instance is saturated, and picks the least loaded of them', () => {
    assert.deepEqual(pick([at('a', 9), at('b', 6)], new Map(), 0, W5, first), { address: 'b', reason: 'saturated' });
  });

  it('leaves the call to Envoy when it knows no load, and stays within the first healthy priority', () => {
    assert.equal(pick([{ ...at('a', 0), load: undefined }], new Map(), 0), undefined);
    assert.equal(pick([at('a', 0, { healthy: false })], new Map(), 0), undefined);
    assert.equal(pick([at('a', 9), at('b', 0, { priority: 1 })], new Map(), 0, W5, first)?.address, 'a', 'failover to the next service is Envoy’s');
    assert.equal(pick([at('a', 0, { healthy: false }), at('b', 0, { priority: 1 })], new Map(), 0, W5, first)?.address, 'b');
  });

  it('breaks ties at random, so idle instances share new conversations', () => {
    const seen = new Set<string>();
    for (const r of [0, 0.5, 0.99]) seen.add(pick([at('a', 0), at('b', 0), at('c', 0)], new Map(), 0, W5, () => r)!.address);
    assert.deepEqual([...seen].sort(), ['a', 'b', 'c']);
  });

  it('gives a call the server priority of its tier, then of how many calls its tenant has in the pool over its weight', () => {
    assert.equal(serverPriorityOf('critical', 5, 1), 5);
    assert.equal(serverPriorityOf('standard', 0, 1), 1_000);
    assert.equal(serverPriorityOf('standard', 12, 1), 1_012, 'a tenant holding twelve slots comes after one holding none');
    assert.equal(serverPriorityOf('standard', 12, 4), 1_003, 'four times the weight: a quarter of the count');
    assert.equal(serverPriorityOf('standard', 5_000, 1), 1_999, 'never into the next tier');
    assert.equal(serverPriorityOf('sheddable', 0, 1), 2_000);
  });

  it('sends a call to the instance running a worse call, which its server will preempt: the one holding its prefix first, then the worst', () => {
    const worst = new Map([['a', 1_003], ['b', 1_010], ['c', 1_000]]);
    assert.equal(preemptable([at('a', 0), at('b', 0), at('c', 0)], worst, 1_001, new Map()), 'b', 'the worst call');
    assert.equal(preemptable([at('a', 0), at('b', 0), at('c', 0)], worst, 1_001, new Map([['a', 4]])), 'a', 'its prefix');
    assert.equal(preemptable([at('a', 0), at('b', 0), at('c', 0)], worst, 1_010, new Map()), undefined, 'no worse call anywhere: it waits');
    assert.equal(preemptable([at('a', 0), at('b', 0, { healthy: false }), at('c', 0)], worst, 1_001, new Map()), 'a', 'an unhealthy instance is never chosen');
    assert.equal(preemptable([at('a', 0), at('b', 0, { priority: 1 })], worst, 1_001, new Map()), 'a', 'within the first priority (failover stays Envoy’s)');
  });

  it('names prefix blocks by everything before them, and remembers where each was sent', () => {
    const o = { blockChars: 4, maxBlocks: 3 };
    assert.deepEqual(prefixBlocks('abc', o), []);
    const long = prefixBlocks('aaaabbbbccccdddd', o);
    assert.equal(long.length, 3, 'at most maxBlocks');
    assert.deepEqual(prefixBlocks('aaaabbbbXXXX', o).slice(0, 2), long.slice(0, 2));
    assert.notEqual(prefixBlocks('zzzzbbbb', o)[1], long[1]);
    const index = new PrefixIndex(4);
    index.record(long, 'x');
    index.record(prefixBlocks('aaaabbbb', o), 'y');
    assert.deepEqual(index.matches(long), new Map([['y', 2], ['x', 3]]));
    index.record(prefixBlocks('qqqqrrrr', o), 'z');
    assert.equal(index.size, 4, 'bounded: the least recently used names go');
  });

  it('reads a pool from a ClusterLoadAssignment: addresses, priorities, health, services', () => {
    const cla = {
      cluster_name: 'model~m',
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 8001 } } }, health_status: 'HEALTHY', metadata: { filter_metadata: { meshgate: { service: 's', instance: 's-1' } } } },
            { endpoint: { address: { socket_address: { address: '::1', port_value: 8002 } } }, health_status: 'UNHEALTHY', metadata: { filter_metadata: { meshgate: { service: 's', instance: 's-2' } } } },
          ],
        },
        { priority: 1, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.2', port_value: 9 } } } }, { endpoint: {} }] },
      ],
    };
    assert.deepEqual(poolOf(cla), [
      { address: '127.0.0.1:8001', instance: 's-1', service: 's', priority: 0, healthy: true },
      { address: '[::1]:8002', instance: 's-2', service: 's', priority: 0, healthy: false },
      { address: '127.0.0.2:9', instance: '', service: '', priority: 1, healthy: true },
    ]);
  });
});

describe('the queue of a saturated model pool', () => {
  const call = (tenant: string, priority: 'critical' | 'standard' = 'standard', weight = 1) => ({ tenant, priority, weight, enqueuedAt: 0 });
  const drain = <T extends { tenant: string }>(q: FairQueue<T & Waiter>): string[] => {
    const out: string[] = [];
    for (let x = q.shift(); x; x = q.shift()) out.push(x.tenant);
    return out;
  };

  it('serves critical calls first, then shares turns between tenants however many one sends', () => {
    const q = new FairQueue<Waiter>(100);
    for (let i = 0; i < 6; i++) q.push(call('flood'));
    q.push(call('chat'));
    q.push(call('chat'));
    q.push(call('ops', 'critical'));
    assert.deepEqual(drain(q), ['ops', 'flood', 'chat', 'flood', 'chat', 'flood', 'flood', 'flood', 'flood']);
  });

  it('lists the calls in the order they would be served, and lets one go ahead of its turn', () => {
    const q = new FairQueue<Waiter & { id: string }>(10);
    const w = (id: string, tenant: string, priority: 'critical' | 'standard' = 'standard') => ({ id, tenant, priority, weight: 1, enqueuedAt: 0 });
    for (const x of [w('a1', 'a'), w('a2', 'a'), w('b1', 'b'), w('c1', 'c', 'critical')]) q.push(x);
    assert.deepEqual(q.ordered().map((x) => x.id), ['c1', 'a1', 'b1', 'a2']);
    // b1 goes ahead (a1 waits on for its instance): a1 keeps its place at the head.
    assert.ok(q.remove(q.ordered()[2]!, true));
    assert.deepEqual(q.ordered().map((x) => x.id), ['c1', 'a1', 'a2']);
    assert.equal(q.shift()?.id, 'c1');
    assert.equal(q.shift()?.id, 'a1');
  });

  it('gives a tenant of twice the weight twice the turns', () => {
    const q = new FairQueue<Waiter>(100);
    for (let i = 0; i < 4; i++) q.push(call('heavy', 'standard', 2));
    for (let i = 0; i < 4; i++) q.push(call('light'));
    assert.deepEqual(drain(q).slice(0, 6), ['heavy', 'heavy', 'light', 'heavy', 'heavy', 'light']);
  });

  it('is bounded: a full queue refuses a standard call, and a critical one pushes out the standard call served last', () => {
    const q = new FairQueue<Waiter>(2);
    const a = call('a');
    const b = call('b');
    q.push(a);
    q.push(b);
    const c = call('c');
    assert.equal(q.push(c), c, 'the newcomer is refused');
    const urgent = call('u', 'critical');
    assert.equal(q.push(urgent), b, 'the standard call that would be served last goes');
    assert.equal(q.length, 2);
    assert.ok(q.remove(a));
    assert.ok(!q.remove(a));
    assert.equal(q.shift(), urgent);
    assert.equal(q.length, 0);
  });

  it('lets a caller lower its priority, never raise it', () => {
    assert.equal(lowerOf('standard', 'sheddable'), 'sheddable');
    assert.equal(lowerOf('standard', 'critical'), 'standard');
    assert.equal(lowerOf('critical', 'standard'), 'standard');
    assert.ok(isPriority('sheddable') && !isPriority('urgent'));
  });
});
