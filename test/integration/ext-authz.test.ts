// ext-authz in front of a real gateway Envoy, with a real Consul and a JWKS server of the test's
// own: what callers, upstreams and security teams see.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../../ext-authz/credentials/secrets.js';
import { DEFAULT_IDENTITY_HEADERS } from '../../shared/identity-headers.js';
import { sleep, waitFor } from '../../launcher/wait.js';
import { AUTHZ_PREFIX, startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { request, steadyTraffic, type EchoBody, type GatewayError } from '../helpers/http.js';
import { sign, startJwksServer, testKey, type TestKey } from '../helpers/jwt-keys.js';

const TEAM_A_KEY = 'mgk_team-a-integration-key';

function policyDocument(jwksUrl: string, extraRules = ''): string {
  return `
policies:
  llm-clients:
    credentials:
      - type: api_key
        keys:
          - {id: team-a-key, sha256: ${sha256(TEAM_A_KEY).toString('hex')}, subject: team-a-bot, tenant: team-a, plan: pro, scopes: [chat]}
      - type: jwt
        issuer: https://idp.test/
        audiences: [meshgate]
        algorithms: [RS256]
        jwks_uri: ${jwksUrl}
        leeway: 5s
        claims: {tenant: tenant}
    rules:
      allow: [{scopes: [chat]}]
${extraRules}
`;
}

describe('ext-authz in front of the gateway', () => {
  let mesh: GatewayMesh;
  let idp: { url: string; close(): void };
  let jwksUrl: string;
  let key: TestKey;

  before(async () => {
    key = await testKey('it-1');
    idp = await startJwksServer(key);
    jwksUrl = idp.url;
    mesh = await startGatewayMesh({ authzPolicy: policyDocument(jwksUrl) });
    await mesh.addInstance({ service: 'llm-chat', id: 'llm-chat-1', meta: { 'gateway-path': '/v1/,/test', 'auth-policy': 'llm-clients,/test=none' } });
    await waitFor(
      'the public route to answer',
      async () => (await request(`${mesh.gatewayUrl}/test?msg=up`)).status === 200,
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    await waitFor(
      'the protected route to ask ext-authz',
      async () => (await request(`${mesh.gatewayUrl}/v1/models`, { headers: { 'x-api-key': TEAM_A_KEY } })).status === 200,
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  });

  after(async () => {
    await mesh?.stop();
    idp?.close();
  });

  const v1 = (headers: Record<string, string> = {}) => request<EchoBody & GatewayError>(`${mesh.gatewayUrl}/v1/whoami`, { headers });

  it('answers 401 as JSON with challenges when no credentials are given', async () => {
    const a = await v1();
    assert.equal(a.status, 401);
    assert.match(a.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(a.body.error.status, 401);
    assert.equal(a.body.error.code, 'unauthenticated');
    assert.equal(a.body.error.message, 'credentials are required');
    assert.match(a.body.error.request_id, /^[0-9a-f-]{36}$/);
    const challenge = a.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /ApiKey realm="meshgate"/);
    assert.match(challenge, /Bearer realm="meshgate"/);
  });

  it('lets a valid API key through; the upstream learns who called and never sees the key', async () => {
    const a = await v1({ 'x-api-key': TEAM_A_KEY });
    assert.equal(a.status, 200);
    assert.equal(a.body.headers['x-auth-subject'], 'team-a-bot');
    assert.equal(a.body.headers['x-auth-tenant'], 'team-a');
    assert.equal(a.body.headers['x-auth-key-id'], 'team-a-key');
    assert.equal(a.body.headers['x-auth-credential'], 'api_key');
    assert.equal(a.body.headers['x-api-key'], undefined);
  });

  it('refuses a wrong API key with 401', async () => {
    const a = await v1({ 'x-api-key': 'mgk_guess' });
    assert.equal(a.status, 401);
    assert.equal(a.body.error.message, 'the API key is not valid');
  });

  it('never lets a client-sent identity header reach the upstream, on protected and public routes', async () => {
    // Every identity header, forged. On a protected route ext-authz overwrites the ones it sets,
    // so the proof is a caller whose identity leaves some unset: a JWT with a subject and tenant
    // only (so no key id and no plan), and an API key.
    const forged = Object.fromEntries(Object.values(DEFAULT_IDENTITY_HEADERS).map((h) => [h, `forged-${h}`]));
    const now = Math.floor(Date.now() / 1000);
    const jwt = await v1({ ...forged, authorization: `Bearer ${await sign(key, { sub: 'alice', tenant: 'team-j' }, now)}` });
    assert.equal(jwt.status, 200);
    assert.deepEqual(
      Object.fromEntries(Object.values(DEFAULT_IDENTITY_HEADERS).map((h) => [h, jwt.body.headers[h]])),
      { 'x-auth-subject': 'alice', 'x-auth-tenant': 'team-j', 'x-auth-plan': undefined, 'x-auth-scopes': 'chat', 'x-auth-key-id': undefined, 'x-auth-credential': 'jwt' },
      'only what ext-authz established',
    );
    const withKey = await v1({ ...forged, 'x-api-key': TEAM_A_KEY });
    assert.deepEqual(
      Object.fromEntries(Object.values(DEFAULT_IDENTITY_HEADERS).map((h) => [h, withKey.body.headers[h]])),
      { 'x-auth-subject': 'team-a-bot', 'x-auth-tenant': 'team-a', 'x-auth-plan': 'pro', 'x-auth-scopes': 'chat', 'x-auth-key-id': 'team-a-key', 'x-auth-credential': 'api_key' },
    );
    const publicRoute = await request<EchoBody>(`${mesh.gatewayUrl}/test?msg=hi`, { headers: forged });
    assert.equal(publicRoute.status, 200);
    for (const h of Object.keys(forged)) assert.equal(publicRoute.body.headers[h], undefined, h);
  });

  it('accepts a valid JWT and refuses an expired one', async () => {
    const now = Math.floor(Date.now() / 1000);
    const ok = await v1({ authorization: `Bearer ${await sign(key, { sub: 'alice', tenant: 'team-j' }, now)}` });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.headers['x-auth-subject'], 'alice');
    assert.equal(ok.body.headers['x-auth-tenant'], 'team-j');
    assert.equal(ok.body.headers['x-auth-credential'], 'jwt');
    assert.equal(ok.body.headers['authorization']?.startsWith('Bearer '), true, 'the token itself still goes upstream');

    const expired = await v1({ authorization: `Bearer ${await sign(key, { sub: 'alice', exp: now - 60 }, now - 3600)}` });
    assert.equal(expired.status, 401);
    assert.equal(expired.body.error.message, 'the token has expired');
    assert.match(expired.headers.get('www-authenticate') ?? '', /error="invalid_token", error_description="the token has expired"/);
  });

  it('enforces a policy change in Consul KV within 2 s', async () => {
    await mesh.consul.api.kvPut(`${AUTHZ_PREFIX}main`, policyDocument(jwksUrl, '      deny: [{tenants: [team-a]}]'));
    const changed = Date.now();
    await waitFor('team-a to be denied', async () => (await v1({ 'x-api-key': TEAM_A_KEY })).status === 403, { timeoutMs: 2_000, intervalMs: 25 });
    const a = await v1({ 'x-api-key': TEAM_A_KEY });
    assert.equal(a.body.error.code, 'forbidden');
    assert.equal(a.body.error.message, 'denied by rule deny[0]');
    assert.ok(Date.now() - changed < 2_000);
  });

  it('refuses an invalid policy document with its reason, and the old policy still rules', async () => {
    await mesh.consul.api.kvPut(`${AUTHZ_PREFIX}main`, 'policies: {llm-clients: {credentials: [{type: api_key, keys: []}]}}');
    const status = await waitFor(
      'the refusal to show in /status',
      async () => {
        const s = await mesh.authz!.getJson<{ documents: Array<{ id: string; last_refusal: { reason: string } | null }> }>('/status');
        const d = s.documents.find((x) => x.id === `consul:${AUTHZ_PREFIX}main`);
        return d?.last_refusal ? d : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    assert.match(status.last_refusal!.reason, /policies\.llm-clients\.credentials\[0\]\.keys: must list at least one key/);
    // A header the gateway would drop (underscores) could never carry a key: refused, with why.
    await mesh.consul.api.kvPut(`${AUTHZ_PREFIX}main`, policyDocument(jwksUrl).replace('- type: api_key', '- type: api_key\n        header: x_api_key'));
    const underscore = await waitFor(
      'the underscore header to be refused',
      async () => {
        const s = await mesh.authz!.getJson<{ documents: Array<{ id: string; last_refusal: { reason: string } | null }> }>('/status');
        const reason = s.documents.find((x) => x.id === `consul:${AUTHZ_PREFIX}main`)?.last_refusal?.reason;
        return reason?.includes('x_api_key') ? reason : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    assert.match(underscore, /policies\.llm-clients\.credentials\[0\]\.header: "x_api_key" has "_": the gateway drops request headers with underscores, so it would never arrive \(use "x-api-key"\)/);
    assert.equal((await v1({ 'x-api-key': TEAM_A_KEY })).status, 403, 'the last good policy (with its deny rule) still rules');
    const metrics = await (await fetch(`${mesh.authz!.adminUrl}/metrics`)).text();
    assert.match(metrics, /^meshgate_authz_document_refusals_total\{source="consul"\} [1-9]/m);

    await mesh.consul.api.kvPut(`${AUTHZ_PREFIX}main`, policyDocument(jwksUrl));
    await waitFor('team-a allowed again', async () => (await v1({ 'x-api-key': TEAM_A_KEY })).status === 200, { timeoutMs: 2_000, intervalMs: 25 });
  });

  it('fails closed while ext-authz is down (503 JSON, never 200), and recovers when it is back', async () => {
    const protectedTraffic = steadyTraffic(`${mesh.gatewayUrl}/v1/whoami`, 10);
    await sleep(200);
    await mesh.authz!.stop('SIGKILL');
    // The route's admission gate may shed some calls meanwhile (503 load_shed, before the check):
    // closed too, but the answer that says why is ext_authz's own.
    const a = await waitFor(
      'the gateway to answer 503 auth_unavailable',
      async () => {
        const r = await v1({ 'x-api-key': TEAM_A_KEY });
        return r.status === 503 && r.body.error.code !== 'load_shed' ? r : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    assert.equal(a.body.error.code, 'auth_unavailable');
    assert.equal(a.body.error.message, 'the authorization service is unavailable');
    assert.equal((await request(`${mesh.gatewayUrl}/test?msg=still-public`)).status, 200, 'public routes do not need ext-authz');
    await sleep(1_500);
    const down = await protectedTraffic.stop();
    assert.equal(down.get('200'), undefined, `protected requests without credentials while down: ${JSON.stringify([...down])}`);

    const keyed = steadyTraffic(`${mesh.gatewayUrl}/v1/whoami`, 10);
    await mesh.authz!.start();
    await waitFor('keyed requests to pass again', async () => (await v1({ 'x-api-key': TEAM_A_KEY })).status === 200, { timeoutMs: 15_000, intervalMs: 100 });
    const during = await keyed.stop();
    assert.equal(during.get('200'), undefined, 'no unauthenticated request got through while ext-authz came back');
  });
});
