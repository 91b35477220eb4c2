// Limiter arithmetic and decisions, with counters in memory and a clock the test moves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BackendUnavailable, type CounterBackend } from '../../ratelimit-service/backends/backend.js';
import { CircuitBreaker } from '../../ratelimit-service/backends/circuit-breaker.js';
import { NodeCircuits } from '../../ratelimit-service/backends/node-circuits.js';
import { MemoryBackend } from '../../ratelimit-service/backends/memory.js';
import { fixedWindowVerdict, slidingWindowVerdict } from '../../ratelimit-service/limiter/verdict.js';
import { counterKey } from '../../ratelimit-service/limiter/keys.js';
import { compileDomain, type CompiledDomain } from '../../ratelimit-service/rules/domain.js';
import { parseRateLimitConfig } from '../../ratelimit-service/rules/schema.js';
import { RateLimiter, UNLIMITED_REMAINING, type LimiterOptions } from '../../ratelimit-service/service/rate-limiter.js';
import type { RlsRequest } from '../../ratelimit-service/service/request.js';
import type { StatsSink } from '../../ratelimit-service/service/stats.js';

interface LimitHits {
  total: number;
  overLimit: number;
  nearLimit: number;
  withinLimit: number;
  shadowMode: number;
}
import { decodeRateLimitRequest, encodeRateLimitResponse } from '../../ratelimit-service/service/rls-codec.js';
import { decodeMessage, encodeMessage } from '../../shared/proto/codec.js';
import { EXAMPLE_7_REPLACES } from '../helpers/ratelimit-examples.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0); // a minute boundary

/** A spy backend's budget operations: these tests send none. */
const NO_BUDGETS: Pick<CounterBackend, 'reserve' | 'settle'> = {
  reserve: () => Promise.reject(new Error('no budget operation expected')),
  settle: () => Promise.reject(new Error('no budget operation expected')),
};

function domains(yaml: string): Map<string, CompiledDomain> {
  const r = parseRateLimitConfig(yaml);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return new Map([[r.value.domain, compileDomain(r.value)]]);
}

class RecordingStats implements StatsSink {
  readonly byKey = new Map<string, LimitHits>();
  failures: string[] = [];
  record(domain: string, key: string, total: number, overLimit: number, nearLimit: number, withinLimit: number, shadowMode: number, detailed?: string): void {
    const h = { total, overLimit, nearLimit, withinLimit, shadowMode };
    const k = `${domain}.${key}${detailed !== undefined ? `_${detailed}` : ''}`;
    const p = this.byKey.get(k) ?? { total: 0, overLimit: 0, nearLimit: 0, withinLimit: 0, shadowMode: 0 };
    this.byKey.set(k, {
      total: p.total + h.total,
      overLimit: p.overLimit + h.overLimit,
      nearLimit: p.nearLimit + h.nearLimit,
      withinLimit: p.withinLimit + h.withinLimit,
      shadowMode: p.shadowMode + h.shadowMode,
    });
  }
  backendFailure(mode: 'open' | 'closed'): void {
    this.failures.push(mode);
  }
  localCacheHit(): void {}
}

function limiter(yaml: string, options: Partial<LimiterOptions> = {}, backend?: CounterBackend) {
  const clock = { now: T0 };
  const stats = new RecordingStats();
  const mem = new MemoryBackend(() => clock.now);
  const l = new RateLimiter(() => domains(yaml), backend ?? mem, {
    keyPrefix: '',
    nearLimitRatio: 0.8,
    expiryJitterSeconds: 0,
    failureMode: 'open',
    globalShadowMode: false,
    now: () => clock.now,
    ...options,
  }, stats);
  return { l, clock, stats, mem };
}

const req = (domain: string, ...descriptors: Array<Array<[string, string]>>): RlsRequest => ({
  domain,
  descriptors: descriptors.map((d) => ({ entries: d.map(([key, value]) => ({ key, value })) })),
  hitsAddend: 0,
});

const PER_IP = `
domain: edge
descriptors:
  - key: remote_address
    rate_limit: {unit: minute, requests_per_unit: 5}
`;

describe('fixed window arithmetic', () => {
  it('is OVER_LIMIT once the count after the hits exceeds the limit', () => {
    assert.deepEqual(fixedWindowVerdict(10, 10, 1, 0.8, T0 + 15_000, 60), { code: 'OK', remaining: 0, resetSeconds: 45, overLimit: 0, nearLimit: 1, withinLimit: 1 });
    assert.deepEqual(fixedWindowVerdict(10, 11, 1, 0.8, T0, 60), { code: 'OVER_LIMIT', remaining: 0, resetSeconds: 60, overLimit: 1, nearLimit: 0, withinLimit: 0 });
  });

  it('splits a multi-hit request over near and over as the reference does', () => {
    // before 7, after 12, limit 10, near threshold 8: 2 over, 2 near (8→10)
    assert.deepEqual(fixedWindowVerdict(10, 12, 5, 0.8, T0, 60), { code: 'OVER_LIMIT', remaining: 0, resetSeconds: 60, overLimit: 2, nearLimit: 2, withinLimit: 0 });
    // before 6, after 9: 1 near (8→9), within 3
    assert.deepEqual(fixedWindowVerdict(10, 9, 3, 0.8, T0, 60), { code: 'OK', remaining: 1, resetSeconds: 60, overLimit: 0, nearLimit: 1, withinLimit: 3 });
  });
});

describe('sliding window arithmetic', () => {
  it('weighs the previous window by the share still inside the sliding window', () => {
    // 30 s into the minute: half of the previous 8 counts → 4 + 3 = 7 ≤ 10
    const ok = slidingWindowVerdict(10, 3, 8, 1, 0.8, T0 + 30_000, 60);
    assert.equal(ok.code, 'OK');
    assert.equal(ok.remaining, 3);
    // 4 + 7 = 11 > 10
    assert.equal(slidingWindowVerdict(10, 7, 8, 1, 0.8, T0 + 30_000, 60).code, 'OVER_LIMIT');
  });

  it('says when the next request would fit', () => {
    // prev 10, curr 6, limit 10, 30 s in: 5 + 6 = 11 > 10. One more hit fits once the previous
    // window's share is 3 (10 × 18/60), i.e. 42 s into the window: 12 s from now.
    const v = slidingWindowVerdict(10, 6, 10, 1, 0.8, T0 + 30_000, 60);
    assert.equal(v.code, 'OVER_LIMIT');
    assert.equal(v.resetSeconds, 12);
  });

  it('stops a burst across a window edge that a fixed window lets through', async () => {
    const yaml = (alg: string) => `domain: d\ndescriptors: [{key: k, rate_limit: {unit: minute, requests_per_unit: 10, algorithm: ${alg}}}]`;
    // 10 requests at 0:59 and 10 more at 1:01: a fixed window allows all 20 within two seconds,
    // the sliding window keeps any minute at the limit.
    for (const [alg, expected] of [['fixed_window', 20], ['sliding_window', 10]] as const) {
      const { l, clock } = limiter(yaml(alg));
      let allowed = 0;
      clock.now = T0 + 59_000;
      for (let i = 0; i < 10; i++) if ((await l.shouldRateLimit(req('d', [['k', 'v']]))).overall === 'OK') allowed++;
      clock.now = T0 + 61_000;
      for (let i = 0; i < 10; i++) if ((await l.shouldRateLimit(req('d', [['k', 'v']]))).overall === 'OK') allowed++;
      assert.equal(allowed, expected, alg);
    }
  });
});

describe('rate limiter decisions', () => {
  it('allows exactly the limit per window, then OVER_LIMIT with Retry-After, and resets with the window', async () => {
    const { l, clock } = limiter(PER_IP);
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await l.shouldRateLimit(req('edge', [['remote_address', '10.0.0.1']])));
    assert.deepEqual(answers.map((a) => a.overall), ['OK', 'OK', 'OK', 'OK', 'OK', 'OVER_LIMIT']);
    assert.deepEqual(answers.map((a) => a.statuses[0]!.remaining), [4, 3, 2, 1, 0, 0]);
    assert.deepEqual(answers[5]!.statuses[0], { code: 'OVER_LIMIT', limit: { requestsPerUnit: 5, unit: 'MINUTE' }, remaining: 0, resetSeconds: 60 });
    assert.deepEqual(answers[5]!.headers, [['retry-after', '60']]);
    assert.equal((await l.shouldRateLimit(req('edge', [['remote_address', '10.0.0.2']]))).overall, 'OK', 'another client has its own counter');
    clock.now = T0 + 60_000;
    assert.equal((await l.shouldRateLimit(req('edge', [['remote_address', '10.0.0.1']]))).overall, 'OK');
  });

  it('answers OK for an unknown domain or a descriptor without a limit', async () => {
    const { l } = limiter(PER_IP);
    assert.equal((await l.shouldRateLimit(req('nope', [['remote_address', 'x']]))).overall, 'OK');
    const a = await l.shouldRateLimit(req('edge', [['other', 'x']]));
    assert.deepEqual(a.statuses, [{ code: 'OK', remaining: 0 }]);
  });

  it('is OVER_LIMIT when any of several descriptors is', async () => {
    const { l } = limiter(`
domain: m
descriptors:
  - {key: a, rate_limit: {unit: minute, requests_per_unit: 1}}
  - {key: b, rate_limit: {unit: minute, requests_per_unit: 100}}
`);
    await l.shouldRateLimit(req('m', [['a', '1']], [['b', '1']]));
    const second = await l.shouldRateLimit(req('m', [['a', '1']], [['b', '1']]));
    assert.equal(second.overall, 'OVER_LIMIT');
    assert.deepEqual(second.statuses.map((s) => s.code), ['OVER_LIMIT', 'OK']);
  });

  it('counts hits_addend hits at once', async () => {
    const { l, stats } = limiter(PER_IP);
    const a = await l.shouldRateLimit({ ...req('edge', [['remote_address', 'x']]), hitsAddend: 4 });
    assert.equal(a.statuses[0]!.remaining, 1);
    const b = await l.shouldRateLimit({ ...req('edge', [['remote_address', 'x']]), hitsAddend: 3 });
    assert.equal(b.overall, 'OVER_LIMIT');
    // 0→4 (near threshold 4: not above it), then 4→7: 2 over the limit of 5, 1 near (4→5).
    assert.deepEqual(stats.byKey.get('edge.remote_address'), { total: 7, overLimit: 2, nearLimit: 1, withinLimit: 4, shadowMode: 0 });
  });

  it('applies replaces: the replacing limit rules, the replaced one is untouched (example 7)', async () => {
    const { l, stats } = limiter(EXAMPLE_7_REPLACES);
    const both = req('example7', [['key_1', 'value_1'], ['user', 'bkthomps']], [['key_2', 'value_2'], ['user', 'bkthomps']]);
    let allowed = 0;
    for (let i = 0; i < 12; i++) if ((await l.shouldRateLimit(both)).overall === 'OK') allowed++;
    assert.equal(allowed, 10, '10/s applies, not 5/s');
    assert.equal(stats.byKey.get('example7.key_1_value_1.user_bkthomps'), undefined, 'the replaced limit was not counted');
    assert.equal((await l.shouldRateLimit(req('example7', [['key_1', 'value_1'], ['user', 'bkthomps']]))).overall, 'OK', 'alone, 5/s still has room');
  });

  it('answers unlimited descriptors locally with the largest remaining count', async () => {
    let calls = 0;
    const counting: CounterBackend = { name: 'spy', available: () => true, close: async () => undefined, ...NO_BUDGETS, increment: async (ops) => (calls++, ops.map(() => ({ after: 1, previous: 0 }))) };
    const { l } = limiter('domain: i\ndescriptors: [{key: ldap, rate_limit: {unlimited: true}}]', {}, counting);
    const a = await l.shouldRateLimit(req('i', [['ldap', 'x']]));
    assert.deepEqual(a.statuses[0], { code: 'OK', remaining: UNLIMITED_REMAINING });
    assert.equal(calls, 0);
  });

  it('lets over-limit hits through in shadow mode, and counts them', async () => {
    const { l, stats } = limiter('domain: s\ndescriptors: [{key: u, shadow_mode: true, rate_limit: {unit: minute, requests_per_unit: 1}}]');
    for (let i = 0; i < 3; i++) assert.equal((await l.shouldRateLimit(req('s', [['u', 'a']]))).overall, 'OK');
    assert.equal(stats.byKey.get('s.u')!.shadowMode, 2);
    assert.equal(stats.byKey.get('s.u')!.overLimit, 2);
  });

  it('uses Envoy’s per-descriptor override, keeping metrics on the configured key (no series per value)', async () => {
    const { l, stats } = limiter(PER_IP);
    const override = (ip: string): RlsRequest => ({
      domain: 'edge',
      descriptors: [{ entries: [{ key: 'remote_address', value: ip }], limit: { requestsPerUnit: 2, unit: 'MINUTE' } }],
      hitsAddend: 0,
    });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await l.shouldRateLimit(override('1.1.1.1'))).overall);
    assert.deepEqual(answers, ['OK', 'OK', 'OVER_LIMIT']);
    await l.shouldRateLimit(override('2.2.2.2'));
    await l.shouldRateLimit({ domain: 'edge', descriptors: [{ entries: [{ key: 'unconfigured', value: 'v9' }], limit: { requestsPerUnit: 2, unit: 'MINUTE' } }], hitsAddend: 0 });
    assert.deepEqual([...stats.byKey.keys()].sort(), ['edge.remote_address', 'edge.unconfigured']);
  });

  it('names values in metrics only with detailed_metric', async () => {
    const { l, stats } = limiter('domain: d\ndescriptors: [{key: k, detailed_metric: true, rate_limit: {unit: minute, requests_per_unit: 9}}]');
    await l.shouldRateLimit(req('d', [['k', 'v1']]));
    await l.shouldRateLimit(req('d', [['k', 'v2']]));
    assert.deepEqual([...stats.byKey.keys()].sort(), ['d.k_v1', 'd.k_v2']);
  });

  it('answers from the local cache once a counter is over, without a round trip, when the cache is on', async () => {
    let calls = 0;
    const mem = new MemoryBackend(() => T0);
    const spy: CounterBackend = { name: 'spy', available: () => true, close: async () => undefined, ...NO_BUDGETS, increment: (ops) => (calls++, mem.increment(ops)) };
    const { l } = limiter(PER_IP, { localCache: true }, spy);
    for (let i = 0; i < 6; i++) await l.shouldRateLimit(req('edge', [['remote_address', 'x']]));
    assert.equal(calls, 6);
    for (let i = 0; i < 10; i++) assert.equal((await l.shouldRateLimit(req('edge', [['remote_address', 'x']]))).overall, 'OVER_LIMIT');
    assert.equal(calls, 6);
  });

  it('asks the backend every time with the cache off (the default, as the reference)', async () => {
    let calls = 0;
    const mem = new MemoryBackend(() => T0);
    const spy: CounterBackend = { name: 'spy', available: () => true, close: async () => undefined, ...NO_BUDGETS, increment: (ops) => (calls++, mem.increment(ops)) };
    const { l } = limiter(PER_IP, {}, spy);
    for (let i = 0; i < 8; i++) await l.shouldRateLimit(req('edge', [['remote_address', 'x']]));
    assert.equal(calls, 8);
  });

  it('answers by the failure mode when the backend cannot count', async () => {
    const down: CounterBackend = { name: 'down', available: () => false, close: async () => undefined, ...NO_BUDGETS, increment: async () => { throw new BackendUnavailable('down'); } };
    const open = limiter(PER_IP, { failureMode: 'open' }, down);
    const a = await open.l.shouldRateLimit(req('edge', [['remote_address', 'x']]));
    assert.equal(a.overall, 'OK');
    assert.deepEqual(open.stats.failures, ['open']);
    const closed = limiter(PER_IP, { failureMode: 'closed' }, down);
    assert.equal((await closed.l.shouldRateLimit(req('edge', [['remote_address', 'x']]))).overall, 'OVER_LIMIT');
  });

  it('with global shadow mode, answers OK to everything but still counts', async () => {
    const { l, stats } = limiter(PER_IP, { globalShadowMode: true });
    for (let i = 0; i < 7; i++) assert.equal((await l.shouldRateLimit(req('edge', [['remote_address', 'x']]))).overall, 'OK');
    assert.equal(stats.byKey.get('edge.remote_address')!.overLimit, 2);
  });

  it('writes counter keys as envoyproxy/ratelimit does', () => {
    assert.equal(counterKey('pfx_', 'edge', [{ key: 'remote_address', value: '1.2.3.4' }], 1767268800), 'pfx_edge_remote_address_1.2.3.4_1767268800');
  });
});

describe('circuit breaker', () => {
  it('opens after the failures in a row, probes once after the open time, and closes on success', () => {
    let now = 0;
    const cb = new CircuitBreaker({ failureThreshold: 3, openMs: 100, maxOpenMs: 400, now: () => now });
    cb.failure();
    cb.failure();
    assert.equal(cb.allow(), true);
    cb.failure();
    assert.equal(cb.state, 'open');
    assert.equal(cb.allow(), false);
    now = 100;
    assert.equal(cb.allow(), true, 'one probe');
    assert.equal(cb.allow(), false, 'only one');
    cb.failure();
    assert.equal(cb.state, 'open');
    now = 250;
    assert.equal(cb.allow(), false, 'open twice as long now');
    now = 300;
    assert.equal(cb.allow(), true);
    cb.success();
    assert.equal(cb.state, 'closed');
    assert.equal(cb.allow(), true);
  });

  it('keeps one circuit per node: a dead node fails alone, the others keep counting', () => {
    let now = 0;
    const changes: Array<[string, boolean]> = [];
    const circuits = new NodeCircuits({ failureThreshold: 3, openMs: 100, maxOpenMs: 400, now: () => now }, (node, open) => changes.push([node, open]));
    // Answers from a live node between the dead node's failures do not keep its circuit closed.
    for (let i = 0; i < 3; i++) {
      assert.equal(circuits.refusing(['live']), undefined);
      circuits.of('live').success();
      assert.equal(circuits.refusing(['dead']), undefined);
      circuits.of('dead').failure();
    }
    assert.equal(circuits.refusing(['dead']), 'dead');
    assert.equal(circuits.refusing(['live']), undefined);
    assert.equal(circuits.refusing(['live', 'dead']), 'dead', 'a call that needs the dead node is refused');
    now = 100;
    assert.equal(circuits.refusing(['dead']), undefined, 'the probe');
    circuits.of('dead').failure();
    now = 300;
    assert.equal(circuits.refusing(['dead']), undefined, 'the next probe, twice as late');
    circuits.of('dead').success();
    assert.deepEqual(changes, [['dead', true], ['dead', false]], 'told when it opened and when it closed, not of each failed probe');
  });

  it('takes a half-open probe only when every node of the call admits it', () => {
    let now = 0;
    const circuits = new NodeCircuits({ failureThreshold: 1, openMs: 100, maxOpenMs: 400, now: () => now });
    circuits.of('a').failure();
    now = 50;
    circuits.of('b').failure();
    now = 100; // a's open time is over, b's is not
    assert.equal(circuits.refusing(['a', 'b']), 'b');
    assert.equal(circuits.of('a').blocked(), false, 'a refusal by b did not use up a\'s probe');
    assert.equal(circuits.refusing(['a']), undefined, 'the probe');
    assert.equal(circuits.refusing(['a']), 'a', 'one probe at a time');
    circuits.of('a').success();
    assert.equal(circuits.refusing(['a']), undefined);
  });
});

describe('RateLimitRequest and RateLimitResponse on the wire', () => {
  it('reads domain, descriptors, overrides and hits_addend, and writes statuses and headers', () => {
    const bytes = Buffer.from(
      encodeMessage('envoy.service.ratelimit.v3.RateLimitRequest', {
        domain: 'edge',
        hits_addend: 3,
        descriptors: [{ entries: [{ key: 'remote_address', value: '1.2.3.4' }], limit: { requests_per_unit: 7, unit: 'HOUR' } }],
      }),
    );
    assert.deepEqual(decodeRateLimitRequest(bytes), {
      domain: 'edge',
      hitsAddend: 3,
      descriptors: [{ entries: [{ key: 'remote_address', value: '1.2.3.4' }], limit: { requestsPerUnit: 7, unit: 'HOUR' } }],
    });
    const out = decodeMessage(
      'envoy.service.ratelimit.v3.RateLimitResponse',
      encodeRateLimitResponse({
        overall: 'OVER_LIMIT',
        statuses: [{ code: 'OVER_LIMIT', limit: { requestsPerUnit: 5, unit: 'MINUTE' }, remaining: 0, resetSeconds: 12 }],
        headers: [['retry-after', '12']],
      }),
    );
    assert.deepEqual(out, {
      overall_code: 'OVER_LIMIT',
      statuses: [{ code: 'OVER_LIMIT', current_limit: { requests_per_unit: 5, unit: 'MINUTE' }, duration_until_reset: '12s' }],
      response_headers_to_add: [{ key: 'retry-after', value: '12' }],
    });
  });
});

describe('increment batcher', () => {
  it('sends each turn’s counters in one call per group, and gives every caller its exact count', async () => {
    const { IncrementBatcher } = await import('../../ratelimit-service/backends/increment-batcher.js');
    const redis = new Map<string, number>([['a', 10]]);
    const calls: Array<Array<[string, number]>> = [];
    const b = new IncrementBatcher(
      async (keys, hits) => {
        calls.push(keys.map((k, i) => [k, hits[i]!]));
        return keys.map((k, i) => {
          const after = (redis.get(k) ?? 0) + hits[i]!;
          redis.set(k, after);
          return after;
        });
      },
      (key) => (key === 'z' ? 1 : 0),
    );
    const results = await Promise.all([b.increment('a', 1, 60), b.increment('b', 2, 60), b.increment('a', 3, 60), b.increment('z', 1, 60), b.increment('a', 1, 60)]);
    assert.deepEqual(results, [11, 2, 14, 1, 15]);
    assert.deepEqual(calls, [[['a', 5], ['b', 2]], [['z', 1]]], 'one call for group 0, one for group 1; a coalesced');
    assert.deepEqual(await b.increment('a', 1, 60), 16, 'the next turn is a new batch');
  });

  it('fails every caller of a batch when the call fails', async () => {
    const { IncrementBatcher } = await import('../../ratelimit-service/backends/increment-batcher.js');
    const b = new IncrementBatcher(async () => {
      throw new Error('down');
    });
    const results = await Promise.allSettled([b.increment('a', 1, 60), b.increment('b', 1, 60)]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  });
});

describe('rate limit metrics', () => {
  it('shows per-limit tallies at scrape time, and caps the values detailed_metric adds', async () => {
    const { RatelimitMetrics } = await import('../../ratelimit-service/metrics.js');
    const m = new RatelimitMetrics();
    m.record('edge', 'remote_address', 3, 1, 1, 2, 0);
    m.record('edge', 'remote_address', 1, 0, 0, 1, 0);
    for (let i = 0; i < 1_005; i++) m.record('d', 'k', 1, 0, 0, 1, 0, `v${i}`);
    const text = await m.registry.metrics();
    assert.match(text, /^meshgate_ratelimit_total_hits_total\{domain="edge",descriptor="remote_address"\} 4$/m);
    assert.match(text, /^meshgate_ratelimit_over_limit_total\{domain="edge",descriptor="remote_address"\} 1$/m);
    assert.match(text, /^meshgate_ratelimit_within_limit_total\{domain="edge",descriptor="remote_address"\} 3$/m);
    assert.match(text, /^meshgate_ratelimit_total_hits_total\{domain="d",descriptor="k_\(other\)"\} 5$/m);
    const series = text.split('\n').filter((l) => l.startsWith('meshgate_ratelimit_total_hits_total{domain="d"')).length;
    assert.equal(series, 1_001, '1,000 values and one "(other)"');
    m.record('edge', 'remote_address', 2, 0, 0, 2, 0);
    assert.match(await m.registry.metrics(), /^meshgate_ratelimit_total_hits_total\{domain="edge",descriptor="remote_address"\} 6$/m);
  });
});
