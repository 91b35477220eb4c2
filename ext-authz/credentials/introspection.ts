// Opaque OAuth 2.0 access tokens, checked by asking the identity provider (RFC 7662 token
// introspection): `POST` the token to its introspection endpoint with meshgate's own client
// credentials; only `"active": true` with an unexpired `exp`, an accepted issuer and audience and
// the required scopes lets a caller in. Everything else — inactive, a provider that errs, times
// out or answers garbage — is a 401 (fail closed).
//
// What it costs the provider is bounded:
// - a positive answer is remembered, keyed by the token's SHA-256 (never the token), until the
//   earlier of its `exp` and `cache_ttl`, and keeps working while the provider is down;
// - an inactive token is remembered for `negative_cache_ttl`, so a caller repeating a bad token
//   does not repeat the call;
// - one call per token at a time (callers presenting the same token wait for the same answer);
// - at most `max_concurrency` calls at once, waiting ones taken in turn per client address and
//   bounded; past the bound a token is refused at once, so a flood of random tokens reaches the
//   provider at `max_concurrency` at most and cannot delay other callers' cached tokens.
import type { CallContext } from '../../shared/grpc/unary-server.js';
import type { Identity } from '../identity.js';
import type { CheckAttributes } from '../request.js';
import { authorizationWith, type Credential, type Verification } from './credential.js';
import { FairPool } from './fair-pool.js';
import { FormPoster } from './form-post.js';
import { sha256 } from './secrets.js';
import { bearerChallenge, tokenIdentity } from './token-claims.js';

export interface IntrospectionSpec {
  readonly endpoint: string;
  readonly client_id: string;
  readonly client_secret: string;
  /** How meshgate authenticates to the provider (RFC 6749 §2.3.1). */
  readonly client_auth: 'client_secret_basic' | 'client_secret_post';
  readonly token_type_hint: string;
  readonly issuer?: string;
  readonly audiences: readonly string[];
  readonly required_scopes: readonly string[];
  readonly claims: { subject: string; tenant?: string; plan?: string; scopes: string };
  readonly max_token_bytes: number;
  readonly cacheTtlMs: number;
  readonly negativeCacheTtlMs: number;
  readonly timeoutMs: number;
  readonly maxConcurrency: number;
  readonly maxWaiting: number;
  readonly leewaySeconds: number;
}

/** Remembered answers per credential: a flood of distinct tokens evicts the oldest. */
const CACHE_MAX = 10_000;
/** What a call whose caller gave up before its turn came back with. */
const ABANDONED: Verification = Object.freeze({ ok: false, reason: 'the check was abandoned by its caller' });

/** An answer over this is not an introspection response. */
const MAX_ANSWER_BYTES = 64 * 1024;

type Answer = { readonly active: true; readonly identity: Identity; readonly until: number } | { readonly active: false; readonly reason: string; readonly until: number };


/** RFC 6749 §2.3.1: client credentials are form-urlencoded before they are joined for Basic. */
function basicAuthorization(id: string, secret: string): string {
  const form = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${form(id)}:${form(secret)}`).toString('base64')}`;
}

export class IntrospectionCredential implements Credential {
  readonly kind = 'introspection' as const;
  readonly challenge = bearerChallenge();
  readonly carriers = { headers: [] as string[], query: [] as string[] };
  private readonly cache = new Map<string, Answer>();
  private readonly inflight = new Map<string, Promise<Verification>>();
  private readonly pool: FairPool;
  private readonly authorization: string | undefined;
  private readonly poster: FormPoster;

  constructor(
    private readonly spec: IntrospectionSpec,
    private readonly now: () => number = Date.now,
  ) {
    this.pool = new FairPool({ concurrency: spec.maxConcurrency, perKey: Math.max(1, Math.ceil(spec.maxWaiting / 8)), maxQueued: spec.maxWaiting });
    this.authorization = spec.client_auth === 'client_secret_basic' ? basicAuthorization(spec.client_id, spec.client_secret) : undefined;
    this.poster = new FormPoster(spec.endpoint, spec.timeoutMs, MAX_ANSWER_BYTES, spec.maxConcurrency);
  }

  find(req: CheckAttributes): string | undefined {
    return authorizationWith(req, 'Bearer');
  }

  async verify(token: string, req?: CheckAttributes, call?: CallContext): Promise<Verification> {
    if (token.length === 0 || token.length > this.spec.max_token_bytes) return this.fail('the token is not valid');
    const key = sha256(token).toString('hex');
    const hit = this.cache.get(key);
    const nowMs = this.now();
    if (hit) {
      if (hit.until > nowMs) return hit.active ? { ok: true, identity: hit.identity } : this.fail(hit.reason);
      this.cache.delete(key);
    }
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.introspect(token, key, req?.source || 'unknown', call).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const v = await pending;
    // Shared with a caller who gave up while waiting: this one has not, so it asks for itself.
    if (v === ABANDONED && !call?.cancelled) return this.verify(token, req, call);
    return v;
  }

  private fail(reason: string): Verification {
    return { ok: false, reason, challenge: bearerChallenge(reason) };
  }

  private async introspect(token: string, key: string, client: string, call: CallContext | undefined): Promise<Verification> {
    const outcome = await this.pool.run(client, () => this.ask(token), call);
    if (!outcome.ran) return outcome.why === 'busy' ? this.fail('the token could not be introspected: too many introspections in flight') : ABANDONED;
    const answer = outcome.value;
    if (typeof answer === 'string') return this.fail(`the token could not be introspected: ${answer}`);
    this.remember(key, answer);
    return answer.active ? { ok: true, identity: answer.identity } : this.fail(answer.reason);
  }

  /** One call to the provider: its judgement of the token, or why it could not be had (a string; nothing remembered). */
  private async ask(token: string): Promise<Answer | string> {
    const form = new URLSearchParams({ token, token_type_hint: this.spec.token_type_hint });
    if (!this.authorization) {
      form.set('client_id', this.spec.client_id);
      form.set('client_secret', this.spec.client_secret);
    }
    const got = await this.poster.post(form.toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      ...(this.authorization ? { authorization: this.authorization } : {}),
    });
    if (!got.ok) return got.reason;
    let body: unknown;
    try {
      body = JSON.parse(got.text);
    } catch {
      return 'the provider answered what is not JSON';
    }
    if (typeof body !== 'object' || body === null || typeof (body as { active?: unknown }).active !== 'boolean') return 'the provider answered without "active"';
    return this.judge(body as Record<string, unknown>);
  }

  /** RFC 7662 §2.2's answer, checked as a JWT's claims would be. */
  private judge(body: Record<string, unknown>): Answer {
    const nowMs = this.now();
    const inactive = (reason: string): Answer => ({ active: false, reason, until: nowMs + this.spec.negativeCacheTtlMs });
    if (body['active'] !== true) return inactive('the token is not active');
    const leewayMs = this.spec.leewaySeconds * 1000;
    const exp = typeof body['exp'] === 'number' ? body['exp'] * 1000 : undefined;
    if (exp !== undefined && exp + leewayMs <= nowMs) return inactive('the token has expired');
    if (typeof body['nbf'] === 'number' && body['nbf'] * 1000 - leewayMs > nowMs) return inactive('the token is not valid yet');
    if (this.spec.issuer !== undefined && body['iss'] !== this.spec.issuer) return inactive('the token issuer is not accepted');
    if (this.spec.audiences.length) {
      const aud = typeof body['aud'] === 'string' ? [body['aud']] : Array.isArray(body['aud']) ? body['aud'] : [];
      if (!aud.some((a) => this.spec.audiences.includes(a as string))) return inactive('the token audience is not accepted');
    }
    // A token a client got for itself (client_credentials) has no subject but the client.
    const read = tokenIdentity(body, this.spec.claims, this.spec.required_scopes, 'introspection', 'client_id');
    if ('refusal' in read) return inactive(read.refusal);
    const identity = read.identity;
    return { active: true, identity, until: Math.min(exp ?? Number.POSITIVE_INFINITY, nowMs + this.spec.cacheTtlMs) };
  }

  private remember(key: string, answer: Answer): void {
    if (answer.until <= this.now()) return;
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, answer);
  }
}
