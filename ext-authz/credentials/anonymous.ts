// Anonymous callers, for public routes that still want an identity (and rate limits) to work.
import type { Identity } from '../identity.js';
import type { Credential, Verification } from './credential.js';

export class AnonymousCredential implements Credential {
  readonly kind = 'anonymous' as const;
  readonly challenge = undefined;
  readonly carriers = { headers: [] as string[], query: [] as string[] };
  private readonly identity: Identity;

  constructor(spec: { subject: string; tenant?: string; plan?: string; scopes: string[] }) {
    this.identity = Object.freeze({
      subject: spec.subject,
      ...(spec.tenant ? { tenant: spec.tenant } : {}),
      ...(spec.plan ? { plan: spec.plan } : {}),
      scopes: Object.freeze([...spec.scopes]),
      credential: 'anonymous' as const,
    });
  }

  /** Always "present": anonymous is what a request is when it shows nothing else. */
  find(): string {
    return '';
  }

  verify(): Verification {
    return { ok: true, identity: this.identity };
  }
}
