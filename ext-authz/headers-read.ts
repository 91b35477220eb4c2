// The request headers ext-authz reads, whatever its policies: Authorization (bearer tokens, Basic,
// an API key sent as a bearer token, a browser login's ID token) and the request id (the decision
// log); and each policy's own carriers (an API key's header). Announced in its registration, so
// that the gateway sends it these alone; past a policy change that reads a new header, calls
// carrying it are refused (fail closed) until the gateway has the new list, within a second.
import type { CompiledPolicy } from './policy/compile.js';

const ALWAYS_READ = ['authorization', 'x-request-id'] as const;

/** Sorted and lower-case, so that an unchanged set is the same text (no needless re-registration). */
export function headersRead(policies: Iterable<CompiledPolicy>): string[] {
  const names = new Set<string>(ALWAYS_READ);
  for (const p of policies) for (const h of p.carrierHeaders) names.add(h.toLowerCase());
  return [...names].sort();
}
