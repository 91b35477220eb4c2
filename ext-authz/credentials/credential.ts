// A kind of credential a policy accepts: how to find it in a request and how to verify it.
import type { CallContext } from '../../shared/grpc/unary-server.js';
import type { CredentialKind, Identity } from '../identity.js';
import type { CheckAttributes } from '../request.js';

export type Verification =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly reason: string; readonly challenge?: string };

export interface Credential {
  readonly kind: CredentialKind;
  /** The raw credential in the request, or undefined when the request carries none of this kind. */
  find(req: CheckAttributes): string | undefined;
  /** `call` says when the caller gave up, so that queued work can be dropped. */
  verify(raw: string, req: CheckAttributes, call?: CallContext): Verification | Promise<Verification>;
  /** The WWW-Authenticate challenge for this kind, if it has one. */
  readonly challenge: string | undefined;
  /** Where the credential travels; removed before the request goes upstream. */
  readonly carriers: { readonly headers: readonly string[]; readonly query: readonly string[] };
}

/** The value of an Authorization header with the given scheme, or undefined. */
export function authorizationWith(req: CheckAttributes, scheme: string): string | undefined {
  const h = req.headers['authorization'];
  if (!h || h.length <= scheme.length || h[scheme.length] !== ' ') return undefined;
  return h.slice(0, scheme.length).toLowerCase() === scheme.toLowerCase() ? h.slice(scheme.length + 1).trim() : undefined;
}
