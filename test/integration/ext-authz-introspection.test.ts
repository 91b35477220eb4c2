// Opaque OAuth access tokens checked by RFC 7662 introspection against a real OpenID provider
// (oidc-provider), through ext-authz in front of a real gateway Envoy.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { freePorts } from '../../launcher/ports.js';
import { sleep, waitFor } from '../../launcher/wait.js';
import { request, type EchoBody, type GatewayError } from '../helpers/http.js';
import { IDP_CLIENTS, IdentityProvider } from '../helpers/identity-provider.js';

const MAX_CONCURRENCY = 4;

function policyDocument(idp: IdentityProvider): string {
  const credential = (cacheTtl: string) => `
      - type: introspection
        endpoint: ${idp.introspectionEndpoint}
        client_id: ${IDP_CLIENTS.introspector.id}
        client_secret: ${IDP_CLIENTS.introspector.secret}
        issuer: ${idp.issuer}
        required_scopes: [models:read]
        claims: {tenant: tenant}
        cache_ttl: ${cacheTtl}
        negative_cache_ttl: 1s
        max_concurrency: ${MAX_CONCURRENCY}
        max_waiting: 8`;
  return `
policies:
  idp-short:
    credentials:${credential('1s')}
  idp-long:
    credentials:${credential('60s')}
`;
}

describe('ext-authz: opaque tokens by introspection (RFC 7662) against oidc-provider', () => {
  let mesh: GatewayMesh;
  let idp: IdentityProvider;

  before(async () => {
    const [idpPort] = (await freePorts(1)) as [number];
    idp = new IdentityProvider(idpPort);
    await idp.start();
    mesh = await startGatewayMesh({ authzPolicy: policyDocument(idp) });
    await mesh.addInstance({ service: 'intro-a', id: 'intro-a-1', meta: { 'gateway-path': '/intro-a', 'auth-policy': 'idp-short' } });
    await mesh.addInstance({ service: 'intro-b', id: 'intro-b-1', meta: { 'gateway-path': '/intro-b', 'auth-policy': 'idp-long' } });
    const token = await idp.token();
    await waitFor(
      'both routes to ask ext-authz',
      async () =>
        (await request(`${mesh.gatewayUrl}/intro-a/test`, { headers: { authorization: `Bearer ${token}` } })).status === 200 &&
        (await request(`${mesh.gatewayUrl}/intro-b/test`, { headers: { authorization: `Bearer ${token}` } })).status === 200,
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  });

  after(async () => {
    await mesh?.stop();
    await idp?.stop();
  });

  const call = (route: string, token: string) => request<EchoBody & GatewayError>(`${mesh.gatewayUrl}/${route}/test?msg=x`, { headers: { authorization: `Bearer ${token}` } });

  it('lets an active token through; the upstream learns the client and tenant from the provider', async () => {
    const a = await call('intro-a', await idp.token());
    assert.equal(a.status, 200);
    assert.equal(a.body.headers['x-auth-subject'], IDP_CLIENTS.app.id, 'a client_credentials token: the client is the subject');
    assert.equal(a.body.headers['x-auth-tenant'], 'acme');
    assert.equal(a.body.headers['x-auth-scopes'], 'models:read');
    assert.equal(a.body.headers['x-auth-credential'], 'introspection');
    // As a JWT does, the bearer token goes on: the upstream may call on with it.
    assert.match(a.body.headers['authorization'] ?? '', /^Bearer /);
  });

  it('refuses a token the provider does not know, and one without the required scope, as 401 JSON with the reason', async () => {
    const unknown = await call('intro-a', randomBytes(32).toString('base64url'));
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error.message, 'the token is not active');
    assert.match(unknown.headers.get('www-authenticate') ?? '', /Bearer realm="meshgate", error="invalid_token", error_description="the token is not active"/);
    const writeOnly = await call('intro-a', await idp.token('models:write'));
    assert.equal(writeOnly.status, 401);
    assert.equal(writeOnly.body.error.message, 'the token lacks the scope models:read');
  });

  it('refuses a revoked token once the positive cache allows (cache_ttl 1s)', async () => {
    const token = await idp.token();
    assert.equal((await call('intro-a', token)).status, 200);
    await idp.revoke(token);
    const revokedAt = Date.now();
    await waitFor('the revoked token refused', async () => (await call('intro-a', token)).status === 401, { timeoutMs: 5_000, intervalMs: 100 });
    assert.ok(Date.now() - revokedAt < 2_500, `refused ${Date.now() - revokedAt} ms after its revocation`);
  });

  it('keeps a cached token working while the provider is down, and refuses a new one (fail closed)', async () => {
    const known = await idp.token();
    const unseen = await idp.token();
    assert.equal((await call('intro-b', known)).status, 200);
    await idp.stop();
    try {
      for (let i = 0; i < 5; i++) assert.equal((await call('intro-b', known)).status, 200, 'the cached positive answer serves');
      const refused = await call('intro-b', unseen);
      assert.equal(refused.status, 401);
      assert.match(refused.body.error.message, /^the token could not be introspected: /);
    } finally {
      await idp.start();
    }
    // The provider back (its in-memory store starts empty): a token it issues is checked and accepted.
    assert.equal((await call('intro-b', await idp.token())).status, 200);
  });

  it('bounds what a flood of random tokens costs the provider, and cached callers keep being served', async () => {
    const known = await idp.token();
    assert.equal((await call('intro-b', known)).status, 200);
    await idp.resetStats();
    const flood = Array.from({ length: 300 }, () => call('intro-b', randomBytes(24).toString('base64url')));
    // Meanwhile a caller with a cached token is served. How long it waits is not asserted (a
    // 500 ms bound failed on a loaded CI machine): speed is the benchmarks'.
    for (let i = 0; i < 10; i++) {
      assert.equal((await call('intro-b', known)).status, 200);
      await sleep(20);
    }
    const answers = await Promise.all(flood);
    assert.ok(
      answers.every((a) => a.status === 401),
      JSON.stringify(answers.map((a) => a.status)),
    );
    const busy = answers.filter((a) => /too many introspections in flight/.test(a.body.error?.message ?? '')).length;
    const stats = await idp.stats();
    assert.ok(stats.maxInFlight <= MAX_CONCURRENCY, `the provider saw ${stats.maxInFlight} introspections at once (max_concurrency ${MAX_CONCURRENCY})`);
    assert.ok(stats.introspections < 300, `the provider was asked ${stats.introspections} times for 300 random tokens (${busy} refused at once)`);
  });

  it('writes neither its client secret nor any token to its log', async () => {
    const token = await idp.token();
    await call('intro-a', token);
    const log = fs.readFileSync(path.join(mesh.dir, 'ext-authz.log'), 'utf8');
    assert.ok(log.length > 0);
    assert.ok(!log.includes(IDP_CLIENTS.introspector.secret), 'the client secret is not in the log');
    assert.ok(!log.includes(token), 'the token is not in the log');
    const status = await (await fetch(`${mesh.authz!.adminUrl}/status`)).text();
    assert.ok(!status.includes(IDP_CLIENTS.introspector.secret), 'the client secret is not on the status page');
  });
});
