// Budgets reserved before a call and settled after it (budget-ops.ts), through the limiter,
// with counters in memory and a clock the test moves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BackendUnavailable, type CounterBackend } from '../../ratelimit-service/backends/backend.js';
import { MemoryBackend } from '../../ratelimit-service/backends/memory.js';
import { BUDGET_ENTRY } from '../../shared/llm-gateway.js';
import { compileDomain } from '../../ratelimit-service/rules/domain.js';
import { parseRateLimitConfig } from '../../ratelimit-service/rules/schema.js';
import { RateLimiter } from '../../ratelimit-service/service/rate-limiter.js';
import type { RlsRequest } from '../../ratelimit-service/service/request.js';
import { GrpcError, GrpcStatus } from '../../shared/grpc/wire.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0); // a minute boundary

// 100 tokens a minute for each tenant.
const BUDGET = `
domain: meshgate
descriptors:
  - key: generic_key
    value: tokens
    descriptors:
      - key: tenant
        rate_limit: {unit: minute, requests_per_unit: 100}
`;

function setup(backend?: CounterBackend, failureMode: 'open' | 'closed' = 'open', globalShadowMode = false) {
  const clock = { now: T0 };
  const parsed = parseRateLimitConfig(BUDGET);
  assert.ok(parsed.ok);
  const mem = new MemoryBackend(() => clock.now);
  const events: string[] = [];
  const l = new RateLimiter(() => new Map([['meshgate', compileDomain(parsed.value)]]), backend ?? mem, {
    keyPrefix: '',
    nearLimitRatio: 0.8,
    expiryJitterSeconds: 0,
    failureMode,
    globalShadowMode,
    now: () => clock.now,
  }, {
    record: () => undefined,
    backendFailure: () => undefined,
    localCacheHit: () => undefined,
    budget: (op, result) => void events.push(`${op}:${result}`),
  });
  const call = (marker: string, id: string, hits: number, tenant = 'acme'): Promise<string> =>
    l
      .shouldRateLimit({
        domain: 'meshgate',
        descriptors: [{ entries: [{ key: 'generic_key', value: 'tokens' }, { key: 'tenant', value: tenant }, { key: marker, value: id }], hitsAddend: hits }],
        hitsAddend: 0,
      })
      .then((a) => a.overall);
  /** What is left of acme's budget, asked without counting. */
  const remaining = async (tenant = 'acme'): Promise<number> => {
    const check: RlsRequest = { domain: 'meshgate', descriptors: [{ entries: [{ key: 'generic_key', value: 'tokens' }, { key: 'tenant', value: tenant }], hitsAddend: 0 }], hitsAddend: 0 };
    return (await l.shouldRateLimit(check)).statuses[0]!.remaining;
  };
  return { l, clock, events, reserve: (id: string, hits: number, tenant?: string) => call(BUDGET_ENTRY.reserve, id, hits, tenant), settle: (id: string, hits: number, tenant?: string) => call(BUDGET_ENTRY.settle, id, hits, tenant), remaining };
}

describe('budget reservations', () => {
  it('reserves within the budget, refuses past it without counting the refused hits, and settles the real cost', async () => {
    const b = setup();
    assert.equal(await b.reserve('c1', 60), 'OK');
    assert.equal(await b.remaining(), 40);
    assert.equal(await b.reserve('c2', 50), 'OVER_LIMIT', '60 + 50 is past 100');
    assert.equal(await b.remaining(), 40, 'a refused reservation adds nothing');
    assert.equal(await b.settle('c1', 15), 'OK');
    assert.equal(await b.remaining(), 85, 'the unused 45 came back');
    assert.equal(await b.reserve('c2', 50), 'OK');
    assert.equal(await b.settle('c2', 70), 'OK');
    assert.equal(await b.remaining(), 15, 'the excess (20 past the reservation) is charged');
    assert.deepEqual(b.events, ['reserve:granted', 'reserve:refused', 'settle:settled', 'reserve:granted', 'settle:settled']);
  });

  it('grants exactly as many concurrent reservations as fit: 50 calls of 10 against 100', async () => {
    const b = setup();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => b.reserve(`c${i}`, 10)));
    assert.equal(answers.filter((a) => a === 'OK').length, 10);
    assert.equal(await b.remaining(), 0);
  });

  it('settles a reservation once; a settlement without a reservation (refused, or unknown) moves nothing', async () => {
    const b = setup();
    await b.reserve('c1', 30);
    await b.settle('c1', 10);
    await b.settle('c1', 10);
    assert.equal(await b.remaining(), 90);
    await b.reserve('big', 500); // refused
    await b.settle('big', 0);
    await b.settle('never-reserved', 40);
    assert.equal(await b.remaining(), 90);
    assert.deepEqual(b.events.slice(-3), ['reserve:refused', 'settle:no_reservation', 'settle:no_reservation']);
  });

  it('settles in the window the call reserved in, when it ends in the next', async () => {
    const b = setup();
    b.clock.now = T0 + 50_000;
    await b.reserve('c1', 80);
    b.clock.now = T0 + 65_000;
    assert.equal(await b.remaining(), 100, 'a new window');
    await b.settle('c1', 20);
    assert.equal(await b.remaining(), 100, 'the new window is not charged');
    b.clock.now = T0 + 55_000; // the old window, seen again (its counter lives a window from its first hit)
    assert.equal(await b.remaining(), 80, 'the old window was refunded 60');
  });

  it('in shadow mode, counts every reservation and refuses none', async () => {
    const b = setup(undefined, 'open', true);
    assert.equal(await b.reserve('c1', 80), 'OK');
    assert.equal(await b.reserve('c2', 80), 'OK', 'past the budget, let through');
    await b.settle('c2', 10);
    assert.equal(await b.remaining(), 10, 'c1’s 80 and c2’s 10 charged');
    assert.deepEqual(b.events, ['reserve:granted', 'reserve:refused', 'settle:settled'], 'the reservation it would have refused, counted as refused');
  });

  it('grants a request’s reservations together or not at all: one budget refusing withholds the others', async () => {
    const b = setup();
    const both = (id: string, acme: number, globex: number) =>
      b.l.shouldRateLimit({
        domain: 'meshgate',
        descriptors: [
          { entries: [{ key: 'generic_key', value: 'tokens' }, { key: 'tenant', value: 'acme' }, { key: BUDGET_ENTRY.reserve, value: id }], hitsAddend: acme },
          { entries: [{ key: 'generic_key', value: 'tokens' }, { key: 'tenant', value: 'globex' }, { key: BUDGET_ENTRY.reserve, value: id }], hitsAddend: globex },
        ],
        hitsAddend: 0,
      });
    const refused = await both('c1', 10, 500);
    assert.deepEqual([refused.overall, refused.statuses.map((x) => x.code)], ['OVER_LIMIT', ['OK', 'OVER_LIMIT']]);
    assert.equal(await b.remaining('acme'), 100, 'acme’s budget had room, but the call was refused: it took nothing');
    assert.equal((await both('c2', 10, 20)).overall, 'OK');
    assert.deepEqual([await b.remaining('acme'), await b.remaining('globex')], [90, 80]);
    assert.deepEqual(b.events, ['reserve:withheld', 'reserve:refused', 'reserve:granted', 'reserve:granted']);
  });

  it('keeps tenants apart', async () => {
    const b = setup();
    assert.equal(await b.reserve('a', 100, 'acme'), 'OK');
    assert.equal(await b.reserve('b', 100, 'globex'), 'OK');
    assert.equal(await b.reserve('a2', 1, 'acme'), 'OVER_LIMIT');
  });

  it('refuses a marker without a usable call id, with its reason', async () => {
    const b = setup();
    await assert.rejects(() => b.reserve('bad id!', 1), (err: unknown) => err instanceof GrpcError && /call id/.test(err.message));
  });

  it('fails a reservation the backend cannot make (UNAVAILABLE: the gateway decides), whatever the failure mode; a lost settlement leaves the reservation charged', async () => {
    const down: CounterBackend = {
      name: 'down',
      available: () => false,
      close: async () => undefined,
      increment: () => Promise.reject(new BackendUnavailable('down')),
      reserve: () => Promise.reject(new BackendUnavailable('down')),
      settle: () => Promise.reject(new BackendUnavailable('down')),
    };
    const unavailable = (err: unknown): boolean => err instanceof GrpcError && err.code === GrpcStatus.UNAVAILABLE && /budget reservations could not be made: down/.test(err.message);
    await assert.rejects(() => setup(down, 'closed').reserve('c', 1), unavailable);
    const open = setup(down, 'open');
    await assert.rejects(() => open.reserve('c', 1), unavailable);
    assert.equal(await open.settle('c', 1), 'OK');
    assert.deepEqual(open.events, ['reserve:backend_unavailable', 'settle:backend_unavailable']);
  });
});
