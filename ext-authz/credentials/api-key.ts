// API keys, from a header or a query parameter. Only SHA-256 digests are stored; a presented
// key is digested, found by its digest and confirmed with a constant-time comparison.
import type { Identity } from '../identity.js';
import { queryParam, type CheckAttributes } from '../request.js';
import type { Credential, Verification } from './credential.js';
import { constantTimeEqual, sha256, type SecretComparator } from './secrets.js';

export interface ApiKeySpec {
  readonly header?: string;
  readonly query?: string;
  readonly keys: ReadonlyArray<{ id: string; sha256: string; subject: string; tenant?: string; plan?: string; scopes: string[] }>;
}

const MAX_KEY_BYTES = 512;

export class ApiKeyCredential implements Credential {
  readonly kind = 'api_key' as const;
  readonly challenge: string;
  readonly carriers: { headers: string[]; query: string[] };
  private readonly byDigest = new Map<string, { digest: Buffer; identity: Identity }>();
  private readonly header: string | undefined;
  private readonly query: string | undefined;

  constructor(spec: ApiKeySpec, private readonly compare: SecretComparator = constantTimeEqual) {
    this.query = spec.query;
    this.header = spec.query ? undefined : (spec.header ?? 'x-api-key');
    this.carriers = { headers: this.header ? [this.header] : [], query: this.query ? [this.query] : [] };
    this.challenge = this.header ? `ApiKey realm="meshgate", header="${this.header}"` : `ApiKey realm="meshgate", query="${this.query}"`;
    for (const k of spec.keys) {
      const identity: Identity = Object.freeze({
        subject: k.subject,
        ...(k.tenant ? { tenant: k.tenant } : {}),
        ...(k.plan ? { plan: k.plan } : {}),
        scopes: Object.freeze([...k.scopes]),
        credential: 'api_key' as const,
        keyId: k.id,
      });
      this.byDigest.set(k.sha256, { digest: Buffer.from(k.sha256, 'hex'), identity });
    }
  }

  find(req: CheckAttributes): string | undefined {
    return this.header ? req.headers[this.header] : queryParam(req, this.query!);
  }

  verify(raw: string): Verification {
    if (raw.length === 0 || raw.length > MAX_KEY_BYTES) return { ok: false, reason: 'the API key is not valid' };
    const digest = sha256(raw);
    const entry = this.byDigest.get(digest.toString('hex'));
    if (!entry || !this.compare(digest, entry.digest)) return { ok: false, reason: 'the API key is not valid' };
    return { ok: true, identity: entry.identity };
  }
}
