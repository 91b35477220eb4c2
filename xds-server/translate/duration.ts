// Durations: Consul's ("250ms", "5s", "1m", "1h") and milliseconds → proto3 JSON ("0.25s").
export function ms(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Math.round(Number(m[1]) * ({ ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const)[m[2] as 'ms' | 's' | 'm' | 'h']);
}

export function durationOf(milliseconds: number): string {
  return milliseconds % 1000 === 0 ? `${milliseconds / 1000}s` : `${(milliseconds / 1000).toFixed(3).replace(/0+$/, '')}s`;
}

/** A Consul duration in proto3 JSON. */
export function protoDuration(text: string): string {
  return durationOf(ms(text));
}
