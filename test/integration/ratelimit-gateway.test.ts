// Global rate limits at the gateway: a real Envoy, Consul, ext-authz and ratelimit-service.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../../ext-authz/credentials/secrets.js';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { waitFor } from '../../launcher/wait.js';
import { request, type EchoBody, type GatewayError } from '../helpers/http.js';
import { awayFromHourEdge } from '../helpers/windows.js';

const KEY_A = 'mgk_tenant_a_key';
const KEY_A2 = 'mgk_tenant_a_second_key';
const KEY_B = 'mgk_tenant_b_key';
// Readiness probes use their own tenant: a probe answered 503 before the instance was healthy still counted.
const KEY_PROBE = 'mgk_tenant_probe_key';

const POLICY = `
policies:
  llm-clients:
    credentials:
      - type: api_key
        keys:
          - {id: a1, sha256: ${sha256(KEY_A).toString('hex')}, subject: app-a1, tenant: tenant-a, scopes: [chat]}
          - {id: a2, sha256: ${sha256(KEY_A2).toString('hex')}, subject: app-a2, tenant: tenant-a, scopes: [chat]}
          - {id: b1, sha256: ${sha256(KEY_B).toString('hex')}, subject: app-b1, tenant: tenant-b, scopes: [chat]}
          - {id: p1, sha256: ${sha256(KEY_PROBE).toString('hex')}, subject: probe, tenant: tenant-probe, scopes: [chat]}
`;

const LIMITS = `
domain: meshgate
descriptors:
  - key: remote_address
    rate_limit: {unit: hour, requests_per_unit: 3}
  - key: tenant
    rate_limit: {unit: hour, requests_per_unit: 4}
  - key: tenant
    value: tenant-probe
    rate_limit: {unit: second, requests_per_unit: 1000}
`;

describe('rate limits at the gateway', () => {
  let mesh: GatewayMesh;

  before(async () => {
    mesh = await startGatewayMesh({ authzPolicy: POLICY, ratelimitConfig: LIMITS });
    await mesh.addInstance({
      service: 'llm-chat',
      id: 'llm-chat-1',
      meta: { 'gateway-path': '/v1/,/test', 'auth-policy': 'llm-clients,/test=none', 'rate-limits': '/v1/=auth:tenant; /test=remote_address' },
    });
    // Ready means: the public route answers with rate-limit headers (the filter asked the service).
    await waitFor(
      'routes with rate limits',
      async () => {
        const r = await request(`${mesh.gatewayUrl}/v1/ready?probe=1`, { headers: { 'x-api-key': KEY_PROBE } });
        return r.status === 200 && r.headers.get('x-ratelimit-limit') !== null;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    await awayFromHourEdge();
  });

  after(async () => {
    await mesh?.stop();
  });

  it('answers the request after the limit per client address with 429 JSON, X-RateLimit headers and Retry-After', async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await request<EchoBody & GatewayError>(`${mesh.gatewayUrl}/test?msg=${i}`));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 429]);
    assert.deepEqual(answers.slice(0, 3).map((a) => a.headers.get('x-ratelimit-remaining')), ['2', '1', '0']);
    const limited = answers[3]!;
    assert.match(limited.headers.get('x-ratelimit-limit') ?? '', /^3\b/);
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
    const reset = Number(limited.headers.get('x-ratelimit-reset'));
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(reset > 0 && reset <= 3600, `x-ratelimit-reset ${reset}`);
    assert.ok(retryAfter > 0 && retryAfter <= 3600, `retry-after ${retryAfter}`);
    assert.equal(limited.body.error.status, 429);
    assert.equal(limited.body.error.code, 'rate_limited');
    assert.match(limited.body.error.request_id, /^[0-9a-f-]{36}$/);
  });

  it('limits per tenant from what ext-authz established, whatever header the client sends', async () => {
    const call = (key: string, headers: Record<string, string> = {}) =>
      request<EchoBody>(`${mesh.gatewayUrl}/v1/chat`, { headers: { 'x-api-key': key, ...headers } });
    const statuses = [];
    for (const key of [KEY_A, KEY_A2, KEY_A, KEY_A2]) statuses.push((await call(key)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200], 'two keys of one tenant share its 4');
    const forged = await call(KEY_A, { 'x-auth-tenant': 'tenant-b' });
    assert.equal(forged.status, 429, 'a forged tenant header does not move the caller to another counter');
    assert.equal((await call(KEY_B)).status, 200, 'tenant-b has its own counter');
  });

  it('lets requests through while the rate-limit service is down (fail open)', async () => {
    // Envoy counts each request it let through because it could not ask: that, not the status
    // alone (which a bucket with room left would give too), says the gateway failed open.
    const allowed = async (): Promise<number> => (await mesh.envoy.admin.stat('cluster.llm-chat.ratelimit.failure_mode_allowed')) ?? 0;
    const before = await allowed();
    await mesh.ratelimit!.stop('SIGKILL');
    try {
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await request(`${mesh.gatewayUrl}/test?msg=down-${i}`)).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
      assert.equal((await allowed()) - before, 6, 'each let through by failure mode');
    } finally {
      await mesh.ratelimit!.start();
    }
  });
});

describe('rate limits at the gateway, failing closed (--ratelimit-fail-closed)', () => {
  let mesh: GatewayMesh;

  before(async () => {
    const generous = 'domain: meshgate\ndescriptors:\n  - key: remote_address\n    rate_limit: {unit: second, requests_per_unit: 1000}\n';
    mesh = await startGatewayMesh({ ratelimitConfig: generous, xdsArgs: ['--ratelimit-fail-closed'] });
    await mesh.addInstance({ service: 'llm-chat', id: 'llm-chat-1', meta: { 'gateway-path': '/test,/free', 'rate-limits': '/test=remote_address' } });
    await waitFor(
      'the limited route to answer, asking the rate-limit service',
      async () => {
        const r = await request(`${mesh.gatewayUrl}/test`);
        return r.status === 200 && r.headers.get('x-ratelimit-limit') !== null;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
  });

  after(async () => {
    await mesh?.stop();
  });

  it('refuses limited requests with 503 JSON while the rate-limit service is down, and serves them again once it is back', async () => {
    await mesh.ratelimit!.stop('SIGKILL');
    const refused = await waitFor(
      'the gateway to refuse while it cannot ask',
      async () => {
        const r = await request<GatewayError>(`${mesh.gatewayUrl}/test?msg=down`);
        // (The route's admission gate may shed a call meanwhile, before asking: 503 load_shed.)
        return r.status === 503 && r.body.error.code !== 'load_shed' ? r : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    assert.equal(refused.body.error.code, 'ratelimit_unavailable');
    for (let i = 0; i < 3; i++) assert.equal((await request(`${mesh.gatewayUrl}/test?msg=down-${i}`)).status, 503, 'never let through');
    const free = await request<GatewayError>(`${mesh.gatewayUrl}/free?msg=unlimited`);
    assert.equal(free.status, 200, `a route without rate limits does not ask: ${JSON.stringify(free.body)}`);
    await mesh.ratelimit!.start();
    await waitFor('limited requests served again', async () => (await request(`${mesh.gatewayUrl}/test?msg=back`)).status === 200, { timeoutMs: 15_000, intervalMs: 200 });
  });
});
