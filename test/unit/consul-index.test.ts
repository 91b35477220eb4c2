import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from '../../shared/consul/backoff.js';
import { BlockingQuery, type FetchResult } from '../../shared/consul/blocking-query.js';
import { nextIndex, parseIndex } from '../../shared/consul/index-rules.js';

describe('Consul X-Consul-Index rules', () => {
  it('moves forward with the index and says whether it changed', () => {
    assert.deepEqual(nextIndex(0n, 10n), { next: 10n, changed: true });
    assert.deepEqual(nextIndex(10n, 10n), { next: 10n, changed: false });
    assert.deepEqual(nextIndex(10n, 12n), { next: 12n, changed: true });
  });

  it('resets to 0 when the index goes backwards', () => {
    assert.deepEqual(nextIndex(50n, 7n), { next: 0n, changed: true, reset: 'backwards' });
  });

  it('never sends back an index below 1 (that would spin), and treats the data as new', () => {
    assert.deepEqual(nextIndex(50n, 0n), { next: 1n, changed: true, reset: 'below-one' });
    assert.deepEqual(nextIndex(5n, undefined), { next: 1n, changed: true, reset: 'below-one' });
  });

  it('parses the header', () => {
    assert.equal(parseIndex('123'), 123n);
    assert.equal(parseIndex(['9']), 9n);
    assert.equal(parseIndex(undefined), undefined);
    assert.equal(parseIndex('abc'), undefined);
  });
});

describe('back-off with jitter', () => {
  it('doubles up to the ceiling and stays within [half, whole]', () => {
    const policy = { baseMs: 100, maxMs: 1_000 };
    assert.equal(backoffDelay(1, policy, () => 0), 50);
    assert.equal(backoffDelay(1, policy, () => 1), 100);
    assert.equal(backoffDelay(3, policy, () => 1), 400);
    assert.equal(backoffDelay(10, policy, () => 1), 1_000);
    assert.equal(backoffDelay(10, policy, () => 0), 500);
  });

  it('spreads retries of a fleet', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4, { baseMs: 100, maxMs: 5_000 })));
    assert.ok(delays.size > 10);
  });
});

describe('blocking query loop', () => {
  it('passes the index back, reports only changes, resets, and retries failures', async () => {
    const answers: Array<FetchResult<string> | Error> = [
      { index: 5n, body: 'a' },
      { index: 5n, body: 'a' }, // wait timed out, nothing new
      new Error('consul down'),
      { index: 9n, body: 'b' },
      { index: 3n, body: 'c' }, // went backwards: Consul was reset
    ];
    const sentIndexes: bigint[] = [];
    const data: string[] = [];
    const errors: number[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const q = new BlockingQuery<string>({
      name: 't',
      backoff: { baseMs: 1, maxMs: 2 },
      fetch: async (index) => {
        sentIndexes.push(index);
        const a = answers.shift();
        if (!a) {
          done();
          return new Promise(() => undefined); // block like a real query until stopped
        }
        if (a instanceof Error) throw a;
        return a;
      },
      onData: (body) => data.push(body),
      onError: (_e, failures) => errors.push(failures),
    }).start();
    await finished;
    q.stop();
    assert.deepEqual(sentIndexes, [0n, 5n, 5n, 5n, 9n, 0n]);
    assert.deepEqual(data, ['a', 'b', 'c']);
    assert.deepEqual(errors, [1]);
  });
});
