// API keys, from a header, a query parameter, or `Authorization: Bearer <key>` as OpenAI's
// client libraries send them (bearer: true; beside a header, the header is read first). A
// bearer value shaped like a JWT is not taken for a key, so that a jwt credential after this one
// in the same policy still gets it. Only SHA-256 digests are stored; a presented key is
// digested, found by its digest and confirmed with a constant-time comparison.
import type { Identity } from '../identity.js';
import { queryParam, type CheckAttributes } from '../request.js';
import { authorizationWith, type Credential, type Verification } from './credential.js';
import { constantTimeEqual, sha256, type SecretComparator } from './secrets.js';

export interface ApiKeySpec {
  readonly header?: string;
  readonly query?: string;
  readonly bearer?: boolean;
  readonly keys: ReadonlyArray<{ id: string; sha256: string; subject: string; tenant?: string; plan?: string; scopes: string[] }>;
}

const MAX_KEY_BYTES = 512;
/** Three base64url segments, the first a JSON object: a JWT, for a jwt credential. */
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

export class ApiKeyCredential implements Credential {
  readonly kind = 'api_key' as const;
  readonly challenge: string;
  readonly carriers: { headers: string[]; query: string[] };
  private readonly byDigest = new Map<string, { digest: Buffer; identity: Identity }>();
  private readonly header: string | undefined;
  private readonly query: string | undefined;
  /** Keys come in `Authorization: Bearer` too; the header goes with the key when a key wins. */
  readonly bearer: boolean;

  constructor(spec: ApiKeySpec, private readonly compare: SecretComparator = constantTimeEqual) {
    this.query = spec.query;
    this.bearer = spec.bearer === true;
    this.header = spec.query ? undefined : (spec.header ?? (this.bearer ? undefined : 'x-api-key'));
    this.carriers = { headers: this.header ? [this.header] : [], query: this.query ? [this.query] : [] };
    this.challenge = this.header
      ? `ApiKey realm="meshgate", header="${this.header}"`
      : this.query
        ? `ApiKey realm="meshgate", query="${this.query}"`
        : 'Bearer realm="meshgate"';
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
    const named = this.header ? req.headers[this.header] : this.query ? queryParam(req, this.query) : undefined;
    if (named !== undefined || !this.bearer) return named;
    const bearer = authorizationWith(req, 'Bearer');
    return bearer === undefined || JWT_SHAPE.test(bearer) ? undefined : bearer;
  }

  verify(raw: string): Verification {
    if (raw.length === 0 || raw.length > MAX_KEY_BYTES) return { ok: false, reason: 'the API key is not valid' };
    const digest = sha256(raw);
    const entry = this.byDigest.get(digest.toString('hex'));
    if (!entry || !this.compare(digest, entry.digest)) return { ok: false, reason: 'the API key is not valid' };
    return { ok: true, identity: entry.identity };
  }
}
