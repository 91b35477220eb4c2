import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Debouncer } from '../../xds-server/cache/debouncer.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('debouncer', () => {
  it('runs once for a burst', async () => {
    let runs = 0;
    const d = new Debouncer(() => runs++, 10, 50);
    for (let i = 0; i < 5; i++) d.trigger();
    await sleep(30);
    assert.equal(runs, 1);
    d.cancel();
  });

  it('never delays a change more than the maximum, even under a steady stream', async () => {
    const runs: number[] = [];
    const start = Date.now();
    const d = new Debouncer(() => runs.push(Date.now() - start), 20, 50);
    const timer = setInterval(() => d.trigger(), 5);
    await sleep(130);
    clearInterval(timer);
    d.cancel();
    assert.ok(runs.length >= 2, `ran ${runs.length} times`);
    assert.ok(runs[0]! < 90, `first run after ${runs[0]} ms`);
  });

  it('refuses a quiet time longer than the maximum delay', () => {
    assert.throws(() => new Debouncer(() => undefined, 100, 50));
  });
});
