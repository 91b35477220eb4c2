// meshgate's own token endpoint through a real gateway Envoy: tokens for a policy's clients
// (client_credentials) and API keys (token exchange), signed by meshgate's keys, accepted by the
// jwt credential from meshgate's own JWKS — and everything a caller can get wrong, expiry,
// revocation, key rotation, and forgeries.
import assert from 'node:assert/strict';
import { generateKeyPairSync, createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { hashPassword, sha256 } from '../../ext-authz/credentials/secrets.js';
import { writeNewKey } from '../../ext-authz/token/signing-keys.js';
import { AUTHZ_PREFIX, startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { freePorts } from '../../launcher/ports.js';
import { sleep, waitFor } from '../../launcher/wait.js';
import { request, type EchoBody, type GatewayError } from '../helpers/http.js';

const ISSUER = 'http://gateway.test/';
const CLIENT = { id: 'reporting-job', secret: 'rj-secret-7c1f0e9a' };
const OTHER = { id: 'other-job', secret: 'oj-secret-2d4b8c' };
const API_KEY = 'mgk_team-b-token-exchange';
const TTL_S = 6;

async function policyDocument(tokenPort: number, revoked: string[] = []): Promise<string> {
  return `
policies:
  token-clients:
    credentials:
      - type: basic
        users:
          - {username: ${CLIENT.id}, password_hash: "${await hashPassword(CLIENT.secret)}", subject: ${CLIENT.id}, tenant: team-a, scopes: [chat, embeddings]}
          - {username: ${OTHER.id}, password_hash: "${await hashPassword(OTHER.secret)}", subject: ${OTHER.id}, tenant: team-c, scopes: [chat]}
      - type: api_key
        keys: [{id: team-b-key, sha256: ${sha256(API_KEY).toString('hex')}, subject: team-b-bot, tenant: team-b, scopes: [chat]}]
    issue_tokens: {issuer: "${ISSUER}", audience: meshgate, ttl: ${TTL_S}s}
  llm-clients:
    credentials:
      - type: jwt
        issuer: "${ISSUER}"
        audiences: [meshgate]
        algorithms: [ES256]
        jwks_uri: http://127.0.0.1:${tokenPort}/.well-known/jwks.json
        jwks_min_refetch: 1s
        leeway: 0s
        claims: {tenant: tenant}
        revoked_token_ids: [${revoked.join(', ')}]
    rules:
      allow: [{scopes: [chat]}]
`;
}

describe('meshgate’s token endpoint through the gateway', () => {
  let mesh: GatewayMesh;
  let tokenPort: number;
  let keysDir: string;

  const tokenRequest = (form: Record<string, string>, headers: Record<string, string> = {}) =>
    request<{ access_token?: string; token_type?: string; expires_in?: number; scope?: string; issued_token_type?: string; error?: string; error_description?: string }>(
      `${mesh.gatewayUrl}/oauth/token`,
      { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString() },
    );
  const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });
  const clientToken = async (scope?: string): Promise<string> => {
    const a = await tokenRequest({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) }, basic(CLIENT.id, CLIENT.secret));
    assert.equal(a.status, 200, JSON.stringify(a.body));
    return a.body.access_token!;
  };
  const callWith = (token: string) => request<EchoBody & GatewayError>(`${mesh.gatewayUrl}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    [tokenPort] = (await freePorts(1)) as [number];
    keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-token-keys-'));
    mesh = await startGatewayMesh({
      authzPolicy: await policyDocument(tokenPort),
      authzArgs: [`--token-listen=127.0.0.1:${tokenPort}`, `--token-keys=${keysDir}`, '--token-keys-reload=300ms'],
    });
    await mesh.addInstance({ service: 'llm-chat', id: 'llm-chat-1', meta: { 'gateway-path': '/v1/', 'auth-policy': 'llm-clients' } });
    await waitFor('the token endpoint routed by the gateway', async () => (await tokenRequest({ grant_type: 'client_credentials' }, basic(CLIENT.id, CLIENT.secret))).status === 200, {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    const token = await clientToken();
    await waitFor('the protected service routed', async () => (await callWith(token)).status === 200, { timeoutMs: 20_000, intervalMs: 200 });
  });

  after(async () => {
    await mesh?.stop();
    if (keysDir) fs.rmSync(keysDir, { recursive: true, force: true });
  });

  it('issues a client_credentials token whose claims are the client’s, and the jwt credential accepts it from meshgate’s JWKS', async () => {
    const a = await tokenRequest({ grant_type: 'client_credentials', scope: 'chat' }, basic(CLIENT.id, CLIENT.secret));
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('cache-control'), 'no-store');
    assert.deepEqual([a.body.token_type, a.body.expires_in, a.body.scope], ['Bearer', TTL_S, 'chat']);
    const claims = decodeJwt(a.body.access_token!);
    assert.deepEqual([claims.iss, claims.aud, claims.sub, claims['tenant'], claims['scope']], [ISSUER, 'meshgate', CLIENT.id, 'team-a', 'chat']);
    assert.equal(decodeProtectedHeader(a.body.access_token!).alg, 'ES256');
    const jwks = (await request<{ keys: Array<{ kid: string; d?: string }> }>(`${mesh.gatewayUrl}/.well-known/jwks.json`)).body;
    assert.ok(jwks.keys.some((k) => k.kid === decodeProtectedHeader(a.body.access_token!).kid));
    assert.ok(jwks.keys.every((k) => k.d === undefined), 'no private part is published');
    const call = await callWith(a.body.access_token!);
    assert.equal(call.status, 200);
    assert.deepEqual([call.body.headers['x-auth-subject'], call.body.headers['x-auth-tenant'], call.body.headers['x-auth-credential']], [CLIENT.id, 'team-a', 'jwt']);
  });

  it('exchanges a valid API key for a token with the key’s identity (RFC 8693)', async () => {
    const a = await tokenRequest({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: API_KEY, subject_token_type: 'urn:meshgate:params:oauth:token-type:api_key' });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(a.body.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');
    const call = await callWith(a.body.access_token!);
    assert.deepEqual([call.status, call.body.headers['x-auth-subject'], call.body.headers['x-auth-tenant']], [200, 'team-b-bot', 'team-b']);
  });

  it('answers what a caller gets wrong with RFC 6749’s errors', async () => {
    const wrongSecret = await tokenRequest({ grant_type: 'client_credentials' }, basic(CLIENT.id, 'not-the-secret'));
    assert.deepEqual([wrongSecret.status, wrongSecret.body.error], [401, 'invalid_client']);
    assert.match(wrongSecret.headers.get('www-authenticate') ?? '', /^Basic realm="meshgate"/);
    const noClient = await tokenRequest({ grant_type: 'client_credentials' });
    assert.deepEqual([noClient.status, noClient.body.error], [401, 'invalid_client']);
    const wrongGrant = await tokenRequest({ grant_type: 'password', username: CLIENT.id, password: CLIENT.secret });
    assert.deepEqual([wrongGrant.status, wrongGrant.body.error], [400, 'unsupported_grant_type']);
    const widerScope = await tokenRequest({ grant_type: 'client_credentials', scope: 'chat admin' }, basic(CLIENT.id, CLIENT.secret));
    assert.deepEqual([widerScope.status, widerScope.body.error, widerScope.body.error_description], [400, 'invalid_scope', 'not granted to this client: admin']);
    const badKey = await tokenRequest({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: 'mgk_nope', subject_token_type: 'urn:meshgate:params:oauth:token-type:api_key' });
    assert.deepEqual([badKey.status, badKey.body.error], [400, 'invalid_grant']);
    const notForm = await request<{ error: string }>(`${mesh.gatewayUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"client_credentials"}' });
    assert.deepEqual([notForm.status, notForm.body.error], [400, 'invalid_request']);
  });

  it('refuses a token once it has expired', async () => {
    const token = await clientToken();
    assert.equal((await callWith(token)).status, 200);
    await sleep((TTL_S + 1) * 1000);
    const a = await callWith(token);
    assert.equal(a.status, 401);
    assert.equal(a.body.error.message, 'the token has expired');
  });

  it('refuses a revoked token id within seconds of the policy change', async () => {
    const token = await clientToken();
    const other = await clientToken();
    assert.equal((await callWith(token)).status, 200);
    await mesh.consul.api.kvPut(`${AUTHZ_PREFIX}main`, await policyDocument(tokenPort, [decodeJwt(token).jti!]));
    const revokedAt = Date.now();
    await waitFor('the revoked token refused', async () => (await callWith(token)).status === 401, { timeoutMs: 5_000, intervalMs: 50 });
    assert.ok(Date.now() - revokedAt < 3_000, `refused ${Date.now() - revokedAt} ms after the change`);
    assert.equal((await callWith(token)).body.error.message, 'the token has been revoked');
    assert.equal((await callWith(other)).status, 200, 'another token of the same client is not revoked');
  });

  it('revokes a token at POST /oauth/revoke (RFC 7009) within seconds, shared through Consul KV; only the client it was issued to may', async () => {
    const token = await clientToken();
    assert.equal((await callWith(token)).status, 200);
    const revoke = (headers: Record<string, string>, t = token) =>
      request(`${mesh.gatewayUrl}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams({ token: t }).toString() });
    assert.equal((await revoke(basic(CLIENT.id, 'wrong'))).status, 401, 'the client must authenticate');
    assert.equal((await revoke(basic(CLIENT.id, CLIENT.secret), 'not-a-token')).status, 200, 'a token that is not ours: 200, nothing revoked');
    assert.equal((await revoke(basic(OTHER.id, OTHER.secret))).status, 400, 'another client may not revoke it');
    assert.equal((await callWith(token)).status, 200, 'still valid after both');
    const revokedAt = Date.now();
    assert.equal((await revoke(basic(CLIENT.id, CLIENT.secret))).status, 200);
    await waitFor('the revoked token refused', async () => (await callWith(token)).status === 401, { timeoutMs: 5_000, intervalMs: 50 });
    assert.ok(Date.now() - revokedAt < 3_000, `refused ${Date.now() - revokedAt} ms after its revocation`);
    assert.equal((await callWith(token)).body.error.message, 'the token has been revoked');
    // Shared through Consul KV: what every replica watches.
    const kv = await mesh.consul.api.kvGet(`meshgate/authz/revoked/${decodeJwt(token).jti}`);
    assert.equal(Number(kv), decodeJwt(token).exp);
  });

  it('rotates keys with overlap: new tokens are signed by the new key, a token of the previous key verifies until it expires', async () => {
    const before = await clientToken();
    const oldKid = decodeProtectedHeader(before).kid;
    const newKid = writeNewKey(keysDir);
    await waitFor('tokens signed by the new key', async () => decodeProtectedHeader(await clientToken()).kid === newKid, { timeoutMs: 5_000, intervalMs: 100 });
    const after = await clientToken();
    assert.notEqual(oldKid, newKid);
    assert.equal((await callWith(after)).status, 200, 'the new key is fetched from the JWKS');
    assert.equal((await callWith(before)).status, 200, 'the previous key is still published');
  });

  it('refuses forged tokens: alg none, HS256 keyed with the public key, a key not in the JWKS, a changed claim', async () => {
    const good = await clientToken();
    const [h, p, sig] = good.split('.') as [string, string, string];
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const header = decodeProtectedHeader(good);
    const payload = decodeJwt(good);
    const jwks = (await request<{ keys: Array<Record<string, unknown>> }>(`${mesh.gatewayUrl}/.well-known/jwks.json`)).body;
    const publicJwk = jwks.keys.find((k) => k['kid'] === header.kid)!;
    const hs = (secret: string) => {
      const head = b64({ alg: 'HS256', typ: 'JWT', kid: header.kid });
      const body = b64({ ...payload, scope: 'chat embeddings admin' });
      return `${head}.${body}.${createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')}`;
    };
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const forgeries: Array<[string, string]> = [
      ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`],
      ['HS256 keyed with the JWK', hs(JSON.stringify(publicJwk))],
      ['HS256 keyed with the x coordinate', hs(String(publicJwk['x']))],
      ['a key not in the JWKS, under a known kid', await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: header.kid! }).sign(stranger)],
      ['a changed claim under the original signature', `${h}.${b64({ ...payload, sub: 'admin' })}.${sig}`],
      ['another issuer', await new SignJWT({ ...payload, iss: 'https://evil.test/' }).setProtectedHeader({ alg: 'ES256', kid: header.kid! }).sign(stranger)],
    ];
    void p;
    for (const [what, token] of forgeries) {
      const a = await callWith(token);
      assert.equal(a.status, 401, `${what}: ${a.status} ${JSON.stringify(a.body)}`);
    }
    assert.equal((await callWith(good)).status, 200, 'the genuine token still works');
  });
});
