// The arithmetic of one descriptor's answer, given the counter after this request's hits.
//
// Fixed window (envoyproxy/ratelimit's, counted the same way): OVER_LIMIT when the count after
// the hits exceeds the limit. Of this request's hits, those above the limit count as
// over_limit, those between the near-limit threshold (floor(limit × ratio)) and the limit as
// near_limit; an allowed request's hits all count as within_limit.
//
// Sliding window (the two-window estimate): count = previous window × the share of it still
// inside the sliding window + current window. Smooth where a fixed window lets a caller send
// twice the limit across a window edge.
export type Code = 'OK' | 'OVER_LIMIT';

export interface Verdict {
  readonly code: Code;
  readonly remaining: number;
  /** Seconds until the caller may try again (over) or the window turns (ok). At least 1. */
  readonly resetSeconds: number;
  readonly overLimit: number;
  readonly nearLimit: number;
  readonly withinLimit: number;
}

function split(limit: number, before: number, after: number, hits: number, nearRatio: number): Omit<Verdict, 'resetSeconds' | 'remaining' | 'code'> & { over: boolean } {
  const near = Math.floor(limit * nearRatio);
  if (after > limit) {
    if (before >= limit) return { over: true, overLimit: hits, nearLimit: 0, withinLimit: 0 };
    return { over: true, overLimit: after - limit, nearLimit: limit - Math.max(near, before), withinLimit: 0 };
  }
  const nearLimit = after > near ? (before >= near ? hits : after - near) : 0;
  return { over: false, overLimit: 0, nearLimit, withinLimit: hits };
}

export function fixedWindowVerdict(limit: number, after: number, hits: number, nearRatio: number, nowMs: number, windowSeconds: number): Verdict {
  const s = split(limit, after - hits, after, hits, nearRatio);
  const nowSec = Math.floor(nowMs / 1000);
  return {
    code: s.over ? 'OVER_LIMIT' : 'OK',
    remaining: s.over ? 0 : limit - after,
    resetSeconds: windowSeconds - (nowSec % windowSeconds),
    overLimit: s.overLimit,
    nearLimit: s.nearLimit,
    withinLimit: s.withinLimit,
  };
}

export function slidingWindowVerdict(
  limit: number,
  currentAfter: number,
  previous: number,
  hits: number,
  nearRatio: number,
  nowMs: number,
  windowSeconds: number,
): Verdict {
  const W = windowSeconds * 1000;
  const elapsed = nowMs % W;
  const previousShare = previous * ((W - elapsed) / W);
  const after = previousShare + currentAfter;
  // Integer counts for the accounting; the comparison uses the exact estimate.
  const s = split(limit, Math.floor(after - hits), Math.ceil(after), hits, nearRatio);
  const over = after > limit;
  let waitMs: number;
  if (!over) {
    waitMs = W - elapsed;
  } else if (currentAfter + 1 <= limit && previous > 0) {
    // The previous window's share must shrink enough for one more hit.
    waitMs = W - elapsed - ((limit - currentAfter - 1) * W) / previous;
  } else {
    // This window alone is over: wait for it to end, then for its share to shrink.
    waitMs = W - elapsed + (limit >= 1 ? W * (1 - (limit - 1) / currentAfter) : W);
  }
  return {
    code: over ? 'OVER_LIMIT' : 'OK',
    remaining: over ? 0 : Math.max(0, Math.floor(limit - after)),
    resetSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
    overLimit: s.overLimit,
    nearLimit: s.nearLimit,
    withinLimit: over ? 0 : hits,
  };
}
