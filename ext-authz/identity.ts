import { DEFAULT_IDENTITY_HEADERS as SHARED_DEFAULTS } from '../shared/identity-headers.js';

// Who a caller is, as established by one of its credentials. This is the only source of
// identity the upstream and the rate limiter ever see.
export type CredentialKind = 'api_key' | 'basic' | 'jwt' | 'introspection' | 'anonymous';

export interface Identity {
  readonly subject: string;
  readonly tenant?: string;
  readonly plan?: string;
  readonly scopes: readonly string[];
  readonly credential: CredentialKind;
  /** The API key's id (never the key), for per-key rate limits. */
  readonly keyId?: string;
}

/** The identity facts, by name, as headers and dynamic metadata carry them. */
export const IDENTITY_FIELDS = ['subject', 'tenant', 'plan', 'scopes', 'key_id', 'credential'] as const;
export type IdentityField = (typeof IDENTITY_FIELDS)[number];

export type IdentityHeaderNames = Readonly<Record<IdentityField, string>>;

export const DEFAULT_IDENTITY_HEADERS: IdentityHeaderNames = SHARED_DEFAULTS;

export function identityFacts(identity: Identity): Partial<Record<IdentityField, string>> {
  const facts: Partial<Record<IdentityField, string>> = { subject: identity.subject, credential: identity.credential };
  if (identity.tenant) facts.tenant = identity.tenant;
  if (identity.plan) facts.plan = identity.plan;
  if (identity.scopes.length) facts.scopes = identity.scopes.join(' ');
  if (identity.keyId) facts.key_id = identity.keyId;
  return facts;
}
