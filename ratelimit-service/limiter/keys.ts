// Counter keys, as envoyproxy/ratelimit writes them to Redis:
//   <prefix><domain>_<key>_<value>_…_<window start in unix seconds>
// so a Redis shared with the reference service holds the same counters.
import type { Entry } from '../rules/match.js';

export function windowStart(nowMs: number, windowSeconds: number): number {
  const now = Math.floor(nowMs / 1000);
  return now - (now % windowSeconds);
}

export function counterKey(prefix: string, domain: string, entries: readonly Entry[], start: number): string {
  let key = `${prefix}${domain}_`;
  for (const e of entries) key += `${e.key}_${e.value}_`;
  return key + start;
}
