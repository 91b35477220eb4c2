// A sliding window seen from outside, on a real clock: ten hits early in one second, ten more
// in the next. A fixed window of 10/s allows all twenty; a sliding one weighs the first ten by
// the share of the previous second still inside the window, so of the second ten it allows
// floor(10 × e), e the fraction of the second gone when each was counted.
import assert from 'node:assert/strict';
import { sleep } from '../../launcher/wait.js';
import type { RlsOutput } from './rls-client.js';

/** The descriptors the pace domain limits to 10 per second, by the key's algorithm. */
export const PACE_CONFIG = `
domain: pace
descriptors:
  - key: sliding
    rate_limit: {unit: second, requests_per_unit: 10, algorithm: sliding_window}
  - key: fixed
    rate_limit: {unit: second, requests_per_unit: 10}
`;

export interface AcrossASecond {
  /** OK answers of the ten hits early in the first second. */
  readonly first: number;
  /** OK answers of the ten hits in the next second. */
  readonly second: number;
  /** The fraction of the next second gone when its hits went out, and when the last answer came. */
  readonly from: number;
  readonly to: number;
}

async function untilIntoSecond(ms: number, nextSecond: boolean): Promise<void> {
  const into = Date.now() % 1000;
  await sleep((nextSecond || into > ms ? 1000 : 0) - into + ms);
}

export async function tenHitsTwice(hit: () => Promise<RlsOutput>): Promise<AcrossASecond> {
  const burst = async () => (await Promise.all(Array.from({ length: 10 }, hit))).filter((a) => a.overall_code === 'OK').length;
  await untilIntoSecond(50, false);
  const firstSecond = Math.floor(Date.now() / 1000);
  const first = await burst();
  await untilIntoSecond(300, true);
  const started = Date.now();
  if (Math.floor(started / 1000) !== firstSecond + 1) throw new Error('the machine stalled for a whole second; the hits are not in adjacent seconds');
  const second = await burst();
  const ended = Date.now();
  return { first, second, from: (started % 1000) / 1000, to: Math.min(ended - firstSecond * 1000 - 1000, 999) / 1000 };
}

/** The sliding descriptor allows floor(10 × e) of the next ten; the fixed one allows all. */
export async function assertSlidingAgainstFixed(hit: (descriptorKey: 'sliding' | 'fixed') => Promise<RlsOutput>): Promise<void> {
  const sliding = await tenHitsTwice(() => hit('sliding'));
  assert.equal(sliding.first, 10);
  const [low, high] = [Math.floor(10 * sliding.from), Math.floor(10 * sliding.to)];
  assert.ok(sliding.second >= low && sliding.second <= high && sliding.second < 10, `${sliding.second} of the next ten allowed; floor(10 × e) for e from ${sliding.from} to ${sliding.to}`);
  const fixed = await tenHitsTwice(() => hit('fixed'));
  assert.deepEqual([fixed.first, fixed.second], [10, 10]);
}
