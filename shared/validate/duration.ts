// Durations, written the same way in every component's flags, service meta, config entries and
// policies: a number and a unit, "250ms", "1.5s", "2m", "1h".
import { z } from 'zod';
import { orThrow, refused, valid, type Checked } from './result.js';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

export const DURATION_HINT = 'a duration like "250ms", "30s", "2m" or "1h"';

/** Milliseconds (rounded), or undefined when `text` is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return Number.isFinite(n) ? Math.round(n) : undefined;
}

export function checkDuration(field: string, text: string): Checked<number> {
  const ms = parseDuration(text);
  return ms === undefined ? refused(field, `${JSON.stringify(text)} is not ${DURATION_HINT}`) : valid(ms);
}

/** A duration given as text, checked, kept as text (config entries keep Consul's spelling). */
export const durationText = z.string().refine((t) => parseDuration(t) !== undefined, `must be ${DURATION_HINT}`);

/** Milliseconds of a duration already validated (by `durationText`). */
export function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`not ${DURATION_HINT}: ${text}`);
  return ms;
}

/** A command-line duration in milliseconds; a bad one throws, naming the flag. */
export function durationFlag(text: string, flag: string): number {
  return orThrow(checkDuration(flag, text));
}
