// A command-line value that must be a positive whole number, refused with the flag's name;
// `fallback` when the flag was not given.
export function positiveInteger(raw: unknown, flag: string, fallback?: number): number {
  if (raw === undefined && fallback !== undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}
