// The request headers the gateway never sends ext-authz (its ext_authz filter's
// disallowed_headers): what clients send with every call and no credential rides in — a
// browser's cookies (a browser login's ID token comes in Authorization), the SDKs' descriptions
// of themselves, content negotiation; and the pseudo-headers, whose method, path and host the
// CheckRequest carries in fields of their own. Envoy would encode them into every CheckRequest and
// ext-authz decode them for nothing. Fixed, not derived from the policies: a list that changed
// with them would change the gateway's listener, and Envoy serves a changed listener's open
// connections with the old one until they drain (minutes). A policy cannot name one of them as
// an API key's header: its schema refuses it, with why.
export const AUTHZ_UNSENT_EXACT = [
  'accept',
  'cache-control',
  'content-length',
  'content-type',
  'cookie',
  'dnt',
  'origin',
  'pragma',
  'priority',
  'referer',
  'upgrade-insecure-requests',
  'user-agent',
  'x-forwarded-proto',
] as const;
export const AUTHZ_UNSENT_PREFIXES = [':', 'accept-', 'sec-', 'x-envoy-', 'x-stainless-'] as const;

export function isUnsentToAuthz(name: string): boolean {
  return (AUTHZ_UNSENT_EXACT as readonly string[]).includes(name) || AUTHZ_UNSENT_PREFIXES.some((p) => name.startsWith(p));
}
