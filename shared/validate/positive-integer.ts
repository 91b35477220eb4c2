// A command-line value that must be a whole number (positive, or from 0), refused with the
// flag's name; `fallback` when the flag was not given.
function wholeNumber(raw: unknown, flag: string, min: 0 | 1, fallback: number | undefined): number {
  if (raw === undefined && fallback !== undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${flag}: expected a ${min ? 'positive' : 'non-negative'} integer, got ${JSON.stringify(raw)}`);
  return n;
}

export function positiveInteger(raw: unknown, flag: string, fallback?: number): number {
  return wholeNumber(raw, flag, 1, fallback);
}

export function nonNegativeInteger(raw: unknown, flag: string, fallback?: number): number {
  return wholeNumber(raw, flag, 0, fallback);
}
