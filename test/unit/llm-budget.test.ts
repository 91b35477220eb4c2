// A call's budget arithmetic: what it reserves, what it is charged, its cost.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chargeOf, costMicros, reservationOf } from '../../ext-proc/engine/budget.js';

describe('LLM budgets: reservation and charge', () => {
  it('prices tokens per million in micro-units, rounded up, never down by float noise', () => {
    assert.equal(costMicros(1000, 0, [0.15, 0.6]), 150);
    assert.equal(costMicros(1, 1, [0.15, 0.6]), 1, '0.75 micro-units is charged as one');
    assert.equal(costMicros(3, 0, [0.1, 0]), 1, '0.30000000000000004 is not two');
    assert.equal(costMicros(0, 0, [5, 15]), 0);
  });

  it('reserves the body’s bytes and the answer’s bound: max_completion_tokens, max_tokens, else the default; none for embeddings', () => {
    assert.equal(reservationOf(50, { max_completion_tokens: 7, max_tokens: 99 }, 'chat', 100, undefined).tokens, 57);
    assert.equal(reservationOf(50, { max_tokens: 9 }, 'chat', 100, undefined).tokens, 59);
    assert.equal(reservationOf(50, { max_output_tokens: 11 }, 'chat', 100, undefined).tokens, 61, 'the Responses API names it max_output_tokens');
    assert.equal(reservationOf(50, { max_tokens: 500 }, 'count_tokens', 100, undefined).tokens, 51, 'counting tokens generates at most one');
    assert.equal(reservationOf(50, {}, 'text_completion', 100, undefined).tokens, 150);
    assert.equal(reservationOf(50, { max_tokens: -3 }, 'chat', 100, undefined).tokens, 150, 'a bound that is no count is not believed');
    assert.deepEqual(reservationOf(50, {}, 'embeddings', 100, [1, 2]), { tokens: 50, costMicros: 50 });
  });

  it('charges the usage when known, the reservation for a success without one, nothing for a failure', () => {
    const reserved = { tokens: 500, costMicros: 900 };
    assert.deepEqual(chargeOf({ promptTokens: 10, completionTokens: 5, totalTokens: 15 }, 200, reserved, [1, 2]), { tokens: 15, costMicros: 20 });
    assert.deepEqual(chargeOf(undefined, 200, reserved, [1, 2]), reserved);
    assert.deepEqual(chargeOf(undefined, 429, reserved, [1, 2]), { tokens: 0, costMicros: 0 });
    assert.deepEqual(chargeOf(undefined, 0, { tokens: 5 }, undefined), { tokens: 0 });
    assert.equal(chargeOf(undefined, 200, undefined, [1, 2]), undefined, 'no budgets, no usage: nothing to say');
    assert.deepEqual(chargeOf({ promptTokens: 1, completionTokens: 1, totalTokens: 2 }, 200, undefined, [1, 2]), { tokens: 2, costMicros: 3 }, 'no budgets: still its cost');
  });
});
