// What bearer tokens share, whether their claims come signed (jwt) or from the provider's answer
// (introspection): the Bearer challenge, and how scopes and the identity are read from claims.
import type { Identity } from '../identity.js';

export interface ClaimNames {
  readonly subject: string;
  readonly tenant?: string;
  readonly plan?: string;
  readonly scopes: string;
}

/** RFC 6750's challenge, with the reason when a token was refused. */
export function bearerChallenge(reason?: string): string {
  return reason
    ? `Bearer realm="meshgate", error="invalid_token", error_description="${reason.replace(/["\\]/g, '')}"`
    : 'Bearer realm="meshgate"';
}

/** Scopes as a space-separated string (RFC 8693's `scope`) or a list. */
export function scopesOf(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  if (Array.isArray(value)) return value.filter((x): x is string => typeof x === 'string');
  return [];
}

/** A claim read as a non-empty string (numbers as text), or undefined. */
export function claimString(claims: Readonly<Record<string, unknown>>, name: string | undefined): string | undefined {
  if (!name) return undefined;
  const v = claims[name];
  return typeof v === 'string' && v ? v : typeof v === 'number' ? String(v) : undefined;
}

/**
 * Who the claims say the caller is, once its scopes hold the required ones: the identity, or why
 * not. `fallbackSubject` is read when the subject claim is absent (introspection: the client).
 */
export function tokenIdentity(
  claims: Readonly<Record<string, unknown>>,
  names: ClaimNames,
  requiredScopes: readonly string[],
  credential: 'jwt' | 'introspection',
  fallbackSubject?: string,
): { readonly identity: Identity } | { readonly refusal: string } {
  const scopes = scopesOf(claims[names.scopes]);
  const missing = requiredScopes.filter((s) => !scopes.includes(s));
  if (missing.length) return { refusal: `the token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` };
  const subject = claimString(claims, names.subject) ?? claimString(claims, fallbackSubject);
  if (!subject) return { refusal: `the token has no "${names.subject}" claim` };
  const tenant = claimString(claims, names.tenant);
  const plan = claimString(claims, names.plan);
  return {
    identity: Object.freeze({
      subject,
      ...(tenant ? { tenant } : {}),
      ...(plan ? { plan } : {}),
      scopes: Object.freeze(scopes),
      credential,
    }),
  };
}
