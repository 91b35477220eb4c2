// JWT bearer tokens (OAuth2 access tokens) verified with jose: algorithms pinned per policy,
// issuer, audience, expiry and not-before with a leeway, required claims and scopes. Verified
// tokens are remembered for at most a minute, never past their `exp` plus the leeway, and never
// past a change of the JWKS they were verified with (a key gone from the set takes its tokens
// with it at the refresh), keyed by the token itself, so a caller's repeated requests cost a
// map lookup, not a signature check.
import { createLocalJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Identity } from '../identity.js';
import type { CheckAttributes } from '../request.js';
import { authorizationWith, type Credential, type Verification } from './credential.js';
import type { JwksCache, JwksRegistry } from './jwks-cache.js';
import { bearerChallenge, tokenIdentity } from './token-claims.js';
import type { RevocationCheck } from '../token/revocations.js';

export interface JwtSpec {
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly algorithms: readonly string[];
  readonly jwks_uri?: string;
  readonly jwks?: { keys: Array<Record<string, unknown>> };
  readonly hmac_secret_base64?: string;
  readonly leewaySeconds: number;
  readonly require_expiry: boolean;
  readonly claims: { subject: string; tenant?: string; plan?: string; scopes: string };
  readonly required_claims: Readonly<Record<string, string | number | boolean>>;
  readonly required_scopes: readonly string[];
  readonly max_token_bytes: number;
  readonly jwksRefreshMs: number;
  readonly jwksMinRefetchMs: number;
  readonly revoked_token_ids?: readonly string[];
}

const REMEMBER_MS = 60_000;
const REMEMBER_MAX = 10_000;


/** Why jose refused a token, in words a caller can act on. */
export function describeJwtError(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'the token is not valid yet';
    if (err.claim === 'iss') return 'the token issuer is not accepted';
    if (err.claim === 'aud') return 'the token audience is not accepted';
    if (err.reason === 'missing') return `the token lacks the "${err.claim}" claim`;
    return `the token "${err.claim}" claim is not accepted`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the token algorithm is not allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (err instanceof errors.JWKSNoMatchingKey) return 'the token is signed with an unknown key';
  if (err instanceof errors.JWKSMultipleMatchingKeys) return 'the token key id is ambiguous';
  if (err instanceof errors.JOSENotSupported) return 'the token algorithm is not allowed';
  if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid) return 'the token is malformed';
  return 'the token could not be verified';
}

export class JwtCredential implements Credential {
  readonly kind = 'jwt' as const;
  readonly challenge = bearerChallenge();
  readonly carriers = { headers: [] as string[], query: [] as string[] };
  private readonly key: JWTVerifyGetKey | Uint8Array;
  /** The JWKS behind `key`, when it is fetched (local keys change only with the policy). */
  private readonly jwksCache: JwksCache | undefined;
  private readonly remembered = new Map<string, { identity: Identity; until: number; keysVersion: number; jti: string | undefined }>();
  /** Revoked token ids: a policy change makes a new credential, so no remembered token outlives its revocation. */
  private readonly revoked: ReadonlySet<string>;

  constructor(
    private readonly spec: JwtSpec,
    jwks: JwksRegistry,
    private readonly now: () => number = Date.now,
    /** Token ids revoked at the token endpoint, by any replica (token/revocations.ts). */
    private readonly revocations?: RevocationCheck,
  ) {
    this.revoked = new Set(spec.revoked_token_ids ?? []);
    this.jwksCache = spec.jwks_uri ? jwks.get(spec.jwks_uri, spec.jwksRefreshMs, spec.jwksMinRefetchMs) : undefined;
    if (this.jwksCache) this.key = this.jwksCache.getKey;
    else if (spec.jwks) this.key = createLocalJWKSet(spec.jwks as never);
    else this.key = new Uint8Array(Buffer.from(spec.hmac_secret_base64!, 'base64'));
  }

  find(req: CheckAttributes): string | undefined {
    return authorizationWith(req, 'Bearer');
  }

  async verify(token: string): Promise<Verification> {
    const fail = (reason: string): Verification => ({ ok: false, reason, challenge: bearerChallenge(reason) });
    if (token.length > this.spec.max_token_bytes) return fail('the token is too large');
    // A stale key set is refreshed before anything is decided, remembered tokens included.
    const refreshing = this.jwksCache?.ensureFresh();
    if (refreshing) await refreshing;
    const keysVersion = this.jwksCache?.version ?? 0;
    const hit = this.remembered.get(token);
    const nowMs = this.now();
    if (hit) {
      if (hit.jti !== undefined && this.revocations?.has(hit.jti)) return fail('the token has been revoked');
      if (hit.until > nowMs && hit.keysVersion === keysVersion) return { ok: true, identity: hit.identity };
      this.remembered.delete(token);
    }

    let payload: JWTPayload;
    try {
      const options = {
        algorithms: [...this.spec.algorithms],
        issuer: this.spec.issuer,
        audience: [...this.spec.audiences],
        clockTolerance: this.spec.leewaySeconds,
        currentDate: new Date(nowMs),
        requiredClaims: this.spec.require_expiry ? ['exp'] : [],
      };
      payload =
        this.key instanceof Uint8Array
          ? (await jwtVerify(token, this.key, options)).payload
          : (await jwtVerify(token, this.key, options)).payload;
    } catch (err) {
      return fail(describeJwtError(err));
    }

    const jti = typeof payload.jti === 'string' ? payload.jti : undefined;
    if (jti !== undefined && (this.revoked.has(jti) || this.revocations?.has(jti))) return fail('the token has been revoked');
    for (const [claim, expected] of Object.entries(this.spec.required_claims)) {
      const actual = payload[claim];
      const matches = Array.isArray(actual) ? actual.includes(expected) : actual === expected;
      if (!matches) return fail(`the token "${claim}" claim is not accepted`);
    }
    const read = tokenIdentity(payload, this.spec.claims, this.spec.required_scopes, 'jwt');
    if ('refusal' in read) return fail(read.refusal);
    const identity = read.identity;
    const expiresMs = typeof payload.exp === 'number' ? (payload.exp + this.spec.leewaySeconds) * 1000 : Number.POSITIVE_INFINITY;
    if (this.remembered.size >= REMEMBER_MAX) this.remembered.delete(this.remembered.keys().next().value!);
    this.remembered.set(token, { identity, until: Math.min(expiresMs, nowMs + REMEMBER_MS), keysVersion, jti });
    return { ok: true, identity };
  }
}
