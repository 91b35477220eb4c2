// meshgate's OAuth 2.0 token endpoint (RFC 6749 §4.4 and §5; RFC 8693 for the exchange), served
// through the gateway at POST /oauth/token, and its keys at GET /.well-known/jwks.json.
//
// Who may get a token is one policy's business (`--token-policy`, its `issue_tokens` settings):
// - grant_type=client_credentials: the client authenticates as one of the policy's Basic users
//   (client_secret_basic, or client_id and client_secret in the form), secrets stored hashed as
//   Basic's are and checked through the same bounded hashing pool;
// - grant_type=urn:ietf:params:oauth:grant-type:token-exchange with one of the policy's API keys as
//   the subject_token (subject_token_type urn:meshgate:params:oauth:token-type:api_key).
// The token is a JWT signed ES256 by meshgate's own newest key: iss and aud from `issue_tokens`,
// sub, tenant, plan and scope from the identity the credential established (a narrower `scope`
// may be asked for, never a wider one), a jti to revoke it by (`revoked_token_ids` of the jwt
// credential that accepts it), and exp after `ttl`. Errors are RFC 6749 §5.2's JSON.
import { randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { Identity } from '../identity.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { attributesOf, type CheckAttributes } from '../request.js';
import { TOKEN_ALGORITHM, type SigningKeys } from './signing-keys.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const API_KEY_TOKEN_TYPE = 'urn:meshgate:params:oauth:token-type:api_key';
export const TOKEN_PATH = '/oauth/token';
export const REVOKE_PATH = '/oauth/revoke';
export const JWKS_PATH = '/.well-known/jwks.json';

export interface TokenAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The OAuth error code of a refusal (what metrics and the log count it by). */
  readonly error?: string;
}

export interface TokenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
  /** The client's address, for the hashing pool's turns. */
  readonly source: string;
}

export interface TokenEndpointDeps {
  readonly policies: () => ReadonlyMap<string, CompiledPolicy>;
  readonly policyName: string;
  readonly keys: SigningKeys;
  readonly now?: () => number;
  /** Where a revocation goes (every replica reads it); absent: this endpoint revokes nothing. */
  readonly revocations?: { revoke(jti: string, exp: number): Promise<void> };
  /** Each issuance and refusal, for metrics and the log (never the secret or the token). */
  readonly onOutcome?: (outcome: { grant: string; result: 'issued' | string; subject?: string; jti?: string }) => void;
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

function json(status: number, body: unknown, headers: Record<string, string> = {}): TokenAnswer {
  return { status, headers: { 'content-type': 'application/json', ...NO_STORE, ...headers }, body: JSON.stringify(body) };
}

function oauthError(status: number, error: string, description: string, headers: Record<string, string> = {}): TokenAnswer {
  return { ...json(status, { error, error_description: description }, headers), error };
}

/** RFC 7009 §2.2: a revocation is answered 200 with nothing in it, whether or not there was anything to revoke. */
const REVOKED: TokenAnswer = { status: 200, headers: NO_STORE, body: '' };

export class TokenEndpoint {
  constructor(private readonly deps: TokenEndpointDeps) {}

  async handle(req: TokenRequest): Promise<TokenAnswer> {
    if (req.path === JWKS_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return oauthError(405, 'invalid_request', 'the JWKS is read with GET');
      return { status: 200, headers: { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=60' }, body: this.deps.keys.jwks };
    }
    if (req.path !== TOKEN_PATH && req.path !== REVOKE_PATH) return oauthError(404, 'invalid_request', `no such endpoint: ${req.path}`);
    if (req.method !== 'POST') return oauthError(405, 'invalid_request', `${req.path} takes POST`);
    if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      return oauthError(400, 'invalid_request', 'the body must be application/x-www-form-urlencoded');
    }
    const form = new URLSearchParams(req.body);
    const grant = req.path === REVOKE_PATH ? 'revocation' : (form.get('grant_type') ?? '');
    // The credentials a client presents are checked as a Check's would be, from its address.
    const attrs = attributesOf('POST', req.path, {}, {}, '', req.source);
    const policy = this.deps.policies().get(this.deps.policyName);
    const answer = !policy?.issueTokens
      ? oauthError(503, 'temporarily_unavailable', `no policy issues tokens here (policy "${this.deps.policyName}" is not in force or has no issue_tokens)`)
      : req.path === REVOKE_PATH
        ? await this.revoke(policy, form, req, attrs)
        : await this.grant(policy, grant, form, req, attrs);
    if (answer.error) this.deps.onOutcome?.({ grant, result: answer.error });
    return answer;
  }

  private async grant(policy: CompiledPolicy, grant: string, form: URLSearchParams, req: TokenRequest, attrs: CheckAttributes): Promise<TokenAnswer> {
    if (grant === 'client_credentials') {
      const client = await this.authenticateClient(policy, form, req, attrs);
      return 'identity' in client ? this.issue(policy, client.identity, form, grant) : client.refusal;
    }
    if (grant === TOKEN_EXCHANGE_GRANT) {
      if (form.get('subject_token_type') !== API_KEY_TOKEN_TYPE) return oauthError(400, 'invalid_request', `subject_token_type must be ${API_KEY_TOKEN_TYPE}`);
      const keys = policy.credentials.find((c) => c.kind === 'api_key');
      const subjectToken = form.get('subject_token') ?? '';
      if (!keys) return oauthError(400, 'invalid_grant', 'this policy has no API keys to exchange');
      const v = await keys.verify(subjectToken, attrs);
      if (!v.ok) return oauthError(400, 'invalid_grant', v.reason);
      return this.issue(policy, v.identity, form, grant);
    }
    return oauthError(400, 'unsupported_grant_type', `grant_type ${JSON.stringify(grant)} is not one of client_credentials, ${TOKEN_EXCHANGE_GRANT}`);
  }

  /** The client, as one of the policy's Basic users (client_secret_basic or client_secret_post), or the RFC 6749 refusal. */
  private async authenticateClient(policy: CompiledPolicy, form: URLSearchParams, req: TokenRequest, attrs: CheckAttributes): Promise<{ identity: Identity } | { refusal: TokenAnswer }> {
    const basic = policy.credentials.find((c) => c.kind === 'basic');
    const header = req.headers['authorization'];
    const fromForm = form.get('client_id') !== null || form.get('client_secret') !== null;
    if (header && fromForm) return { refusal: oauthError(400, 'invalid_request', 'the client authenticated twice (Authorization and the form)') };
    let raw: string | undefined;
    if (header?.toLowerCase().startsWith('basic ')) raw = header.slice(6).trim();
    else if (fromForm) raw = Buffer.from(`${form.get('client_id') ?? ''}:${form.get('client_secret') ?? ''}`).toString('base64');
    const challenge = { 'www-authenticate': 'Basic realm="meshgate"' };
    if (!raw) return { refusal: oauthError(401, 'invalid_client', 'the client did not authenticate', challenge) };
    if (!basic) return { refusal: oauthError(401, 'invalid_client', 'this policy has no clients (a basic credential)', challenge) };
    const v = await basic.verify(raw, attrs);
    return v.ok ? { identity: v.identity } : { refusal: oauthError(401, 'invalid_client', v.reason, challenge) };
  }

  /**
   * RFC 7009: a client revokes a token issued to it. A token that is not one of ours (or not
   * valid any more) is answered 200 as the RFC says — there is nothing to revoke; one issued to
   * another client is refused.
   */
  private async revoke(policy: CompiledPolicy, form: URLSearchParams, req: TokenRequest, attrs: CheckAttributes): Promise<TokenAnswer> {
    if (!this.deps.revocations) return oauthError(503, 'temporarily_unavailable', 'revocation is not configured here');
    const client = await this.authenticateClient(policy, form, req, attrs);
    if ('refusal' in client) return client.refusal;
    let claims: JWTPayload;
    try {
      claims = (await jwtVerify(form.get('token') ?? '', this.deps.keys.keySet, { algorithms: [TOKEN_ALGORITHM], issuer: policy.issueTokens!.issuer })).payload;
    } catch {
      return REVOKED;
    }
    if (claims['client_id'] !== client.identity.subject) return oauthError(400, 'invalid_request', 'the token was not issued to this client');
    if (typeof claims.jti !== 'string' || typeof claims.exp !== 'number') return REVOKED;
    await this.deps.revocations.revoke(claims.jti, claims.exp);
    this.deps.onOutcome?.({ grant: 'revocation', result: 'revoked', subject: client.identity.subject, jti: claims.jti });
    return REVOKED;
  }

  private async issue(policy: CompiledPolicy, identity: Identity, form: URLSearchParams, grant: string): Promise<TokenAnswer> {
    const settings = policy.issueTokens!;
    const asked = form.get('scope');
    const scopes = asked === null ? [...identity.scopes] : asked.split(' ').filter(Boolean);
    const beyond = scopes.filter((s) => !identity.scopes.includes(s));
    if (beyond.length) return oauthError(400, 'invalid_scope', `not granted to this client: ${beyond.join(' ')}`);
    const key = this.deps.keys.current;
    if (!key) return oauthError(503, 'temporarily_unavailable', 'no signing key can be read');
    const nowS = Math.floor((this.deps.now?.() ?? Date.now()) / 1000);
    const ttlS = Math.floor(settings.ttlMs / 1000);
    const jti = randomUUID();
    const token = await new SignJWT({
      scope: scopes.join(' '),
      client_id: identity.subject,
      ...(identity.tenant ? { tenant: identity.tenant } : {}),
      ...(identity.plan ? { plan: identity.plan } : {}),
    })
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.kid, typ: 'at+jwt' })
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setSubject(identity.subject)
      .setJti(jti)
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + ttlS)
      .sign(key.privateKey);
    this.deps.onOutcome?.({ grant, result: 'issued', subject: identity.subject, jti });
    return json(200, {
      access_token: token,
      token_type: 'Bearer',
      expires_in: ttlS,
      scope: scopes.join(' '),
      ...(grant === TOKEN_EXCHANGE_GRANT ? { issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' } : {}),
    });
  }
}
