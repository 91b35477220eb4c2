// The one way every component reports a value it refused: valid, or refused with a reason that
// names the field ("meta \"timeout\": …", "policies.x.credentials[0].header: …"). Parsers of
// config return this; command-line flags turn a refusal into a thrown error at the boundary.
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly field: string; readonly reason: string };

export function valid<T>(value: T): Checked<T> {
  return { ok: true, value };
}

export function refused<T = never>(field: string, reason: string): Checked<T> {
  return { ok: false, field, reason };
}

/** "field: reason", as logs, status pages and errors show a refusal. */
export function describeRefusal(r: { readonly field: string; readonly reason: string }): string {
  return r.field ? `${r.field}: ${r.reason}` : r.reason;
}

/** A refusal under another field: `within('meta "rate-limits"', r)`. */
export function within<T>(field: string, r: Checked<T>): Checked<T> {
  return r.ok ? r : refused(r.field ? `${field} ${r.field}` : field, r.reason);
}

/** The value, or an Error naming the field (for command-line flags). */
export function orThrow<T>(r: Checked<T>): T {
  if (r.ok) return r.value;
  throw new Error(describeRefusal(r));
}
