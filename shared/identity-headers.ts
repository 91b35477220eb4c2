// The request headers that carry a caller's identity from ext-authz to upstreams. The gateway
// strips any copy a client sends; only ext-authz may set them. Both sides default to this list
// (ext-authz also announces its own names in its Consul registration meta).
export const DEFAULT_IDENTITY_HEADERS = {
  subject: 'x-auth-subject',
  tenant: 'x-auth-tenant',
  plan: 'x-auth-plan',
  scopes: 'x-auth-scopes',
  key_id: 'x-auth-key-id',
  credential: 'x-auth-credential',
} as const;

export const IDENTITY_HEADERS_META = 'identity-headers';

/** The dynamic metadata namespace Envoy files ext-authz's answer under (for rate limits). */
export const EXT_AUTHZ_METADATA_NAMESPACE = 'envoy.filters.http.ext_authz';
