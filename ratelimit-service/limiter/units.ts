// Rate limit units, as envoy.service.ratelimit.v3.RateLimitResponse.RateLimit.Unit names them,
// and their window length (a week is 7 days, a month 30 and a year 365, as envoyproxy/ratelimit
// counts). UNKNOWN is not a unit: a config naming it is refused, an override carrying it ignored.
export const UNITS = ['SECOND', 'MINUTE', 'HOUR', 'DAY', 'WEEK', 'MONTH', 'YEAR'] as const;
export type Unit = (typeof UNITS)[number];

/** The proto enum numbers. */
export const UNIT_NUMBER: Readonly<Record<Unit, number>> = { SECOND: 1, MINUTE: 2, HOUR: 3, DAY: 4, WEEK: 7, MONTH: 5, YEAR: 6 };

const SECONDS: Readonly<Record<Unit, number>> = {
  SECOND: 1,
  MINUTE: 60,
  HOUR: 3_600,
  DAY: 86_400,
  WEEK: 86_400 * 7,
  MONTH: 86_400 * 30,
  YEAR: 86_400 * 365,
};

export function unitSeconds(unit: Unit): number {
  return SECONDS[unit];
}

export function unitFromNumber(n: number): Unit | undefined {
  return UNITS.find((u) => UNIT_NUMBER[u] === n);
}

export function parseUnit(text: string): Unit | undefined {
  const u = text.toUpperCase();
  return (UNITS as readonly string[]).includes(u) ? (u as Unit) : undefined;
}
