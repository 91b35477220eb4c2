// What operators' pages and logs show must never be a secret: a whole mesh (xds-server, gateway,
// ext-authz, ratelimit-service, the LLM processor) is given secrets of every kind and used with
// them, then every admin page and every log line is searched for them. And an admin endpoint
// that would be exposed asks for an operator key, or does not start.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashPassword, sha256 } from '../../ext-authz/credentials/secrets.js';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { freePorts } from '../../launcher/ports.js';
import { startProcess } from '../../launcher/process.js';
import { distPath } from '../../launcher/repo.js';
import { waitFor } from '../../launcher/wait.js';
import { startXdsServer } from '../../launcher/xds-server.js';
import { request } from '../helpers/http.js';

const API_KEY = 'mgk_probe_key_3b9d51';
const PASSWORD = 'probe-password-77c1';
const CLIENT_SECRET = 'probe-introspection-secret-e4a2';
const HMAC = Buffer.from('probe-hmac-secret-of-at-least-32-bytes!!').toString('base64');
const BEARER = 'probe-bearer-token-a81f0c6d2e';

describe('admin pages and logs hold no secret', () => {
  let mesh: GatewayMesh;
  let passwordHash: string;

  before(async () => {
    passwordHash = await hashPassword(PASSWORD);
    const [deadPort] = (await freePorts(1)) as [number];
    mesh = await startGatewayMesh({
      llm: true,
      ratelimitConfig: 'domain: meshgate\ndescriptors:\n  - key: generic_key\n    value: probe\n    rate_limit: {unit: minute, requests_per_unit: 1000}\n',
      authzPolicy: `
policies:
  probe:
    credentials:
      - {type: api_key, keys: [{id: probe-key, sha256: ${sha256(API_KEY).toString('hex')}, subject: probe-bot, scopes: [x]}]}
      - {type: basic, users: [{username: probe-user, password_hash: "${passwordHash}", subject: probe-user, scopes: [x]}]}
      - {type: introspection, endpoint: "http://127.0.0.1:${deadPort}/introspect", client_id: probe, client_secret: ${CLIENT_SECRET}}
  probe-hmac:
    credentials:
      - {type: jwt, issuer: https://idp.test/, audiences: [meshgate], algorithms: [HS256], hmac_secret_base64: "${HMAC}"}
`,
    });
    await mesh.addInstance({ service: 'probe', id: 'probe-1', meta: { 'gateway-path': '/probe', 'auth-policy': 'probe' } });
    await waitFor('the protected route', async () => (await request(`${mesh.gatewayUrl}/probe/test`, { headers: { 'x-api-key': API_KEY } })).status === 200, { timeoutMs: 20_000, intervalMs: 200 });
    // Used with every secret, right and wrong.
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    const uses: Array<Record<string, string>> = [{ 'x-api-key': API_KEY }, { 'x-api-key': `${API_KEY}x` }, { authorization: basic('probe-user', PASSWORD) }, { authorization: basic('probe-user', `${PASSWORD}x`) }, { authorization: `Bearer ${BEARER}` }];
    for (const headers of uses) await request(`${mesh.gatewayUrl}/probe/test`, { headers });
  });

  after(async () => {
    await mesh?.stop();
  });

  it('shows none of them on any admin page, and writes none of them to any log', async () => {
    const secrets: Record<string, string> = {
      'the API key': API_KEY,
      'the API key’s SHA-256': sha256(API_KEY).toString('hex'),
      'the password': PASSWORD,
      'the password hash': passwordHash.split('$').pop()!,
      'the introspection client secret': CLIENT_SECRET,
      'the HMAC secret': HMAC,
      'the bearer token': BEARER,
      'the Basic credentials': Buffer.from(`probe-user:${PASSWORD}`).toString('base64'),
    };
    // The decision log is written in batches: wait for the last request's line.
    await waitFor('the decision log to name the Basic caller', () => fs.readFileSync(path.join(mesh.dir, 'ext-authz.log'), 'utf8').includes('"subject":"probe-user"'), { timeoutMs: 5_000, intervalMs: 100 });
    const pages: Record<string, string> = {};
    const get = async (name: string, url: string) => (pages[name] = await (await fetch(url)).text());
    const xds = mesh.xds.adminUrl;
    for (const p of ['/debug/mesh', '/debug/resolved', '/debug/snapshots', '/debug/config-entries', '/debug/proxies', '/metrics']) await get(`xds-server ${p}`, `${xds}${p}`);
    for (const role of ((await (await fetch(`${xds}/debug/snapshots`)).json()) as Array<{ role: string }>).map((s) => s.role)) await get(`xds-server snapshot ${role}`, `${xds}/debug/snapshots/${encodeURIComponent(role)}`);
    for (const p of ['/status', '/metrics']) await get(`ext-authz ${p}`, `${mesh.authz!.adminUrl}${p}`);
    for (const p of ['/rlconfig', '/metrics']) await get(`ratelimit-service ${p}`, `${mesh.ratelimit!.adminUrl}${p}`);
    for (const p of ['/status', '/metrics']) await get(`ext-proc ${p}`, `${mesh.llm!.adminUrl}${p}`);
    for (const p of ['/config_dump', '/stats']) await get(`envoy ${p}`, `${mesh.envoy.admin.baseUrl}${p}`);
    for (const file of fs.readdirSync(mesh.dir).filter((f) => f.endsWith('.log'))) pages[`log ${file}`] = fs.readFileSync(path.join(mesh.dir, file), 'utf8');
    assert.ok(Object.keys(pages).length >= 15, Object.keys(pages).join(', '));
    assert.ok(pages['ext-authz /status']!.includes('probe'), 'the status page shows the policy (by name)');
    assert.ok(pages['log ext-authz.log']!.includes('"subject":"probe-user"'), 'the decision log was read: it names who called');
    const found: string[] = [];
    for (const [where, text] of Object.entries(pages)) for (const [what, secret] of Object.entries(secrets)) if (text.includes(secret)) found.push(`${what} in ${where}`);
    assert.deepEqual(found, []);
  });

  it('refuses to expose an admin endpoint without an operator key, and asks for the key where one is set', async () => {
    const [xdsPort, adminPort] = (await freePorts(2)) as [number, number];
    // Told to listen beyond loopback without a key: it never binds, and says why.
    const exposed = startProcess('xds-exposed', process.execPath, { args: [distPath('xds-server', 'main.js'), `--consul=${mesh.consul.address}`, `--xds=127.0.0.1:${xdsPort}`, `--admin=0.0.0.0:${adminPort}`] });
    const code = await Promise.race([exposed.exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
    await exposed.stop('SIGKILL');
    assert.notEqual(code, 'still running');
    assert.match(exposed.tail(), /the admin endpoints on 0\.0\.0\.0 would answer anyone who reaches them: set MESHGATE_ADMIN_KEY_SHA256/);

    const key = 'mgk_operator_probe_1c';
    const xds = await startXdsServer({ consulAddress: mesh.consul.address, xdsPort, adminPort, env: { MESHGATE_ADMIN_KEY_SHA256: createHash('sha256').update(key).digest('hex') } });
    try {
      assert.equal((await fetch(`${xds.adminUrl}/debug/mesh`)).status, 401);
      assert.equal((await fetch(`${xds.adminUrl}/readyz`)).status, 200, 'readiness stays open for health checks');
      const cli = (env: NodeJS.ProcessEnv) =>
        new Promise<{ code: number; out: string }>((resolve) =>
          execFile(process.execPath, [distPath('cli', 'meshgate.js'), 'instances', `--xds-admin=${xds.adminUrl}`], { env: { ...process.env, ...env }, timeout: 20_000 }, (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
          ),
        );
      const without = await cli({ MESHGATE_ADMIN_KEY: '' });
      assert.equal(without.code, 1);
      assert.match(without.out, /401/);
      const withKey = await cli({ MESHGATE_ADMIN_KEY: key });
      assert.equal(withKey.code, 0, withKey.out);
      assert.match(withKey.out, /^consul\s+up/m);
    } finally {
      await xds.stop();
    }
  });
});
