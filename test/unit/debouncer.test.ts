// The debouncer on a mocked clock: a burst runs once after the quiet time, and a steady stream
// of changes never delays a run past the maximum.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { Debouncer } from '../../xds-server/cache/debouncer.js';

describe('debouncer', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('runs once for a burst, once it has been quiet', () => {
    let runs = 0;
    const d = new Debouncer(() => runs++, 10, 50);
    for (let i = 0; i < 5; i++) {
      d.trigger();
      mock.timers.tick(2);
    }
    assert.equal(runs, 0, 'not while the burst goes on');
    mock.timers.tick(9);
    assert.equal(runs, 1);
    mock.timers.tick(100);
    assert.equal(runs, 1, 'once');
    d.cancel();
  });

  it('never delays a change more than the maximum, even under a steady stream', () => {
    const runs: number[] = [];
    let now = 0;
    const d = new Debouncer(() => runs.push(now), 20, 50);
    for (; now < 130; now += 5) {
      d.trigger();
      mock.timers.tick(5);
    }
    d.cancel();
    assert.deepEqual(runs, [45, 95], 'at the maximum delay after the first change of each burst');
  });

  it('runs at once on flush, and not again', () => {
    let runs = 0;
    const d = new Debouncer(() => runs++, 10, 50);
    d.trigger();
    d.flush();
    assert.equal(runs, 1);
    mock.timers.tick(100);
    assert.equal(runs, 1);
  });

  it('refuses a quiet time longer than the maximum delay', () => {
    assert.throws(() => new Debouncer(() => undefined, 100, 50));
  });
});
