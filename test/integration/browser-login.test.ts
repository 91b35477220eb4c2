// Browser login through the gateway, end to end with real processes: a real OpenID provider
// (oidc-provider), the xds-server configuring Envoy's oauth2 filter (its secrets over SDS), ext-authz
// verifying the ID token, the console behind it — driven in headless Chromium: open the console,
// be sent to the provider, log in, see the console with one's role, sign out, be sent back to log
// in. Beside it: what a script with an operator key gets, what a forged identity header gets, a
// login whose secret is gone closing its path, and no secret in any status page, dump or log.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startConsole, type ConsoleProcess } from '../../launcher/console.js';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { freePorts } from '../../launcher/ports.js';
import { repoRoot, toolPath } from '../../launcher/repo.js';
import { waitFor } from '../../launcher/wait.js';
import { sha256 } from '../../ext-authz/credentials/secrets.js';
import { IDP_CLIENTS, IdentityProvider, logInInBrowser } from '../helpers/identity-provider.js';

const OPERATOR_KEY = 'mgk_console_ops_script_1';
const VIEWER_KEY = 'mgk_console_dash_script_1';
const HMAC = 'hmac-key-for-the-console-login-3f8a91c2d7e4b6a0';

describe('browser login to the console through the gateway', () => {
  let mesh: GatewayMesh;
  let idp: IdentityProvider;
  let consoleProc: ConsoleProcess;
  let browser: Browser;
  let secretsDir: string;
  let gw: string;
  const shots = path.join(repoRoot(), 'test-results', 'browser-login');

  const policy = (issuer: string) => `policies:
  default:
    credentials:
      - {type: api_key, keys: [{id: k0, sha256: ${sha256('unused-key').toString('hex')}, subject: nobody}]}
  console:
    credentials:
      - type: jwt
        issuer: ${issuer}
        audiences: [${IDP_CLIENTS.console.id}]
        algorithms: [RS256]
        jwks_uri: ${issuer}/jwks
        claims: {subject: sub, scopes: meshgate_roles}
      - type: api_key
        keys:
          - {id: ops, sha256: ${sha256(OPERATOR_KEY).toString('hex')}, subject: ops-script, scopes: ["meshgate:operator"]}
          - {id: dash, sha256: ${sha256(VIEWER_KEY).toString('hex')}, subject: dashboard, scopes: ["meshgate:viewer"]}
`;

  before(async () => {
    const [idpPort] = (await freePorts(1)) as [number];
    const issuer = `http://127.0.0.1:${idpPort}`;
    secretsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-secrets-'));
    fs.writeFileSync(path.join(secretsDir, 'console-client'), `${IDP_CLIENTS.console.secret}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(secretsDir, 'console-hmac'), HMAC, { mode: 0o600 });
    mesh = await startGatewayMesh({ xdsArgs: ['--register', `--secrets-dir=${secretsDir}`, '--secrets-interval=300ms'], authzPolicy: policy(issuer) });
    gw = `http://localhost:${mesh.ports.gateway}`;
    idp = await new IdentityProvider(idpPort, path.join(mesh.dir, 'oidc-provider.log'), { login: [`${gw}/console/oauth2/callback`], logout: [`${gw}/`] }).start();
    await mesh.consul.api.kvPut(
      'meshgate/config/console-login',
      `Kind: browser-login\nName: operators\nIssuer: ${issuer}\nClientId: ${IDP_CLIENTS.console.id}\nClientSecret: console-client\nHmacSecret: console-hmac\nScopes: [openid, profile, meshgate]\nPassThroughHeaders: [x-api-key]\n`,
    );
    consoleProc = await startConsole({
      xdsAdmin: `http://127.0.0.1:${mesh.ports.xdsAdmin}`,
      consulAddress: mesh.consul.address,
      gateway: { path: '/console/', login: 'operators', authPolicy: 'console' },
      logFile: path.join(mesh.dir, 'console.log'),
    });
    await waitFor('the console behind its login at the gateway', async () => (await fetch(`${gw}/console/`, { redirect: 'manual' })).status === 302, { timeoutMs: 30_000, intervalMs: 200 });
    browser = await chromium.launch({
      executablePath: toolPath('chromium'),
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
      timeout: 30_000,
    });
  });

  after(async () => {
    await browser?.close();
    await consoleProc?.stop();
    await idp?.stop();
    await mesh?.stop();
    if (secretsDir) fs.rmSync(secretsDir, { recursive: true, force: true });
  });

  const logIn = (page: Page, who: string): Promise<void> => logInInBrowser(page, `${gw}/console/?refresh=1`, idp.issuer, who);

  async function withContext<T>(name: string, run: (page: Page, context: BrowserContext) => Promise<T>): Promise<T> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    try {
      return await run(page, context);
    } finally {
      await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true }).catch(() => undefined);
      await context.close();
    }
  }

  it('sends a browser to the provider, logs an operator in with PKCE, shows the console, and signs out', async () => {
    await withContext('operator', async (page, context) => {
      // The way there: the provider's authorization endpoint, with an S256 challenge.
      const asked: string[] = [];
      page.on('request', (r) => {
        if (r.url().startsWith(`${idp.issuer}/auth`)) asked.push(r.url());
      });
      await logIn(page, 'alice');
      const auth = new URL(asked[0]!);
      assert.equal(auth.searchParams.get('client_id'), IDP_CLIENTS.console.id);
      assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
      assert.match(auth.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.equal(auth.searchParams.get('redirect_uri'), `${gw}/console/oauth2/callback`);

      const caller = page.locator('[data-caller]');
      await caller.waitFor({ timeout: 15_000 });
      assert.equal(await caller.getAttribute('data-caller'), 'alice');
      assert.equal(await caller.getAttribute('data-role'), 'operator');
      // The console's own data, through the gateway: the services, and the operators' part.
      await page.locator('[data-service="meshgate-console-web"]').waitFor({ timeout: 15_000 });
      await page.locator('[data-search="id"]').waitFor({ timeout: 15_000 });

      // The session cookies: Secure, HttpOnly, SameSite=Lax; no token readable by the page.
      const cookies = (await context.cookies(gw)).filter((c) => c.name.startsWith('mg-operators-'));
      assert.ok(cookies.some((c) => c.name === 'mg-operators-hmac'), `session cookies: ${cookies.map((c) => c.name).join(', ')}`);
      for (const c of cookies) {
        assert.equal(c.secure, true, `${c.name} Secure`);
        assert.equal(c.httpOnly, true, `${c.name} HttpOnly`);
        assert.equal(c.sameSite, 'Lax', `${c.name} SameSite`);
      }
      assert.equal(await page.evaluate('document.cookie'), '');

      // Signing out: the provider's end-session page, then back at the gateway with no session.
      await page.click('[data-action="sign-out"]');
      await page.waitForURL((u) => u.origin === idp.issuer, { timeout: 15_000 });
      await page.click('button[value="yes"]');
      await page.waitForURL((u) => u.origin === gw, { timeout: 15_000 });
      assert.equal((await context.cookies(gw)).filter((c) => c.name === 'mg-operators-hmac').length, 0);
      // Opening the console again asks for a login again.
      await page.goto(`${gw}/console/`, { timeout: 15_000 });
      await page.waitForURL((u) => u.origin === idp.issuer, { timeout: 15_000 });
      assert.equal(await page.locator('input[name="login"]').count(), 1);
    });
  });

  it('gives a viewer the overview but not the recent requests, and a person with no role a clear refusal', async () => {
    await withContext('viewer', async (page) => {
      await logIn(page, 'bob');
      await page.locator('[data-caller="bob"][data-role="viewer"]').waitFor({ timeout: 15_000 });
      await page.locator('[data-service="meshgate-console-web"]').waitFor({ timeout: 15_000 });
      assert.equal(await page.locator('[data-operators-only]').count(), 1);
      assert.equal(await page.locator('[data-search="id"]').count(), 0);
      // The API says so too, in JSON, to the page's own request.
      const answer = await page.evaluate(async () => {
        const r = await fetch('api/requests', { headers: { 'x-requested-with': 'XMLHttpRequest' } });
        return { status: r.status, body: (await r.json()) as { error: string } };
      });
      assert.equal(answer.status, 403);
      assert.match(answer.body.error, /bob is a viewer: only operators see this/);
    });
    await withContext('no-role', async (page) => {
      await logIn(page, 'carol');
      await page.locator('[data-denied]').waitFor({ timeout: 15_000 });
      assert.match((await page.locator('[data-denied]').textContent()) ?? '', /carol is signed in, but is neither a viewer nor an operator/);
    });
  });

  it('lets a script in with an operator key, and no forged identity header past the login', async () => {
    const overview = await fetch(`${gw}/console/api/overview`, { headers: { 'x-api-key': OPERATOR_KEY } });
    assert.equal(overview.status, 200);
    assert.ok(Array.isArray(((await overview.json()) as { services: unknown[] }).services));
    const requests = await fetch(`${gw}/console/api/requests`, { headers: { 'x-api-key': VIEWER_KEY } });
    assert.equal(requests.status, 403);
    // A browser without a session is sent to log in; the page's own request gets 401 instead.
    const anonymous = await fetch(`${gw}/console/api/requests`, { redirect: 'manual' });
    assert.equal(anonymous.status, 302);
    assert.ok(anonymous.headers.get('location')?.startsWith(`${idp.issuer}/auth?`));
    assert.equal((await fetch(`${gw}/console/api/requests`, { headers: { 'x-requested-with': 'XMLHttpRequest' } })).status, 401);
    // Identity headers a client sends are stripped: they make no one an operator.
    const forged = await fetch(`${gw}/console/api/requests`, { redirect: 'manual', headers: { 'x-auth-subject': 'mallory', 'x-auth-scopes': 'meshgate:operator' } });
    assert.equal(forged.status, 302);
    const forgedWithKey = await fetch(`${gw}/console/api/requests`, { headers: { 'x-api-key': VIEWER_KEY, 'x-auth-scopes': 'meshgate:operator' } });
    assert.equal(forgedWithKey.status, 403);
    // A wrong key is refused by ext-authz: 401 JSON.
    const wrong = await fetch(`${gw}/console/api/overview`, { headers: { 'x-api-key': 'mgk_wrong' } });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('content-type') ?? '', /json/);
  });

  it('keeps the secrets out of listeners, routes, status pages, dumps and logs', async () => {
    const dump = await mesh.envoy.admin.configDump();
    const text = JSON.stringify(dump);
    assert.ok(text.includes('meshgate-secret/console-client'), 'the route names the client secret by its SDS name');
    // Envoy holds the secrets (it shows them redacted) as dynamic SDS secrets.
    const secrets = dump.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump') as { dynamic_active_secrets?: Array<{ name: string }> } | undefined;
    assert.deepEqual((secrets?.dynamic_active_secrets ?? []).map((s) => s.name).sort(), ['meshgate-secret/console-client', 'meshgate-secret/console-hmac']);
    const admin = `http://127.0.0.1:${mesh.ports.xdsAdmin}`;
    const roles = ((await (await fetch(`${admin}/debug/snapshots`)).json()) as Array<{ role: string }>).map((s) => `/debug/snapshots/${encodeURIComponent(s.role)}`);
    const nodes = ((await (await fetch(`${admin}/debug/proxies`)).json()) as Array<{ node_id: string }>).map((p) => `/debug/proxies/${encodeURIComponent(p.node_id)}/config`);
    assert.ok(roles.length && nodes.length);
    const pages: string[] = await Promise.all(['/debug/resolved', '/debug/snapshots', '/debug/proxies', '/debug/mesh', '/debug/config-entries', '/metrics', ...roles, ...nodes].map(async (p) => (await fetch(`${admin}${p}`)).text()));
    // The secret resources are there, by name, redacted.
    assert.ok(pages.some((b) => b.includes('"meshgate-secret/console-hmac"') && b.includes('[redacted]')));
    // ext-authz's status page and metrics: policies by name, never a key's hash.
    for (const p of ['/status', '/metrics']) pages.push(await (await fetch(`http://127.0.0.1:${mesh.ports.authzAdmin}${p}`)).text());
    const logs = fs.readdirSync(mesh.dir).filter((f) => f.endsWith('.log')).map((f) => fs.readFileSync(path.join(mesh.dir, f), 'utf8'));
    for (const [what, body] of [['the Envoy config dump', text], ...pages.map((b, i) => [`xds-server admin page ${i}`, b] as const), ...logs.map((b, i) => [`log ${i}`, b] as const)] as const) {
      for (const secret of [IDP_CLIENTS.console.secret, HMAC, OPERATOR_KEY, VIEWER_KEY, sha256(OPERATOR_KEY).toString('hex'), sha256(VIEWER_KEY).toString('hex')]) {
        assert.ok(!body.includes(secret), `${what} holds a secret`);
      }
    }
  });

  it('closes the console’s path, with the reason, while its HMAC secret is gone, and opens it again when it is back', async () => {
    fs.rmSync(path.join(secretsDir, 'console-hmac'));
    try {
      const closed = await waitFor(
        'the path closed',
        async () => {
          const r = await fetch(`${gw}/console/`, { redirect: 'manual', headers: { 'x-api-key': OPERATOR_KEY } });
          return r.status === 503 ? r : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 200 },
      );
      assert.match(closed.headers.get('content-type') ?? '', /json/);
      assert.match(await closed.text(), /login \\?"operators\\?" is unavailable: secret \\?"console-hmac\\?" \(HmacSecret\) is not in the secrets directory/);
      const resolved = await (await fetch(`http://127.0.0.1:${mesh.ports.xdsAdmin}/debug/resolved`)).text();
      assert.match(resolved, /"unavailable": "secret \\"console-hmac\\" \(HmacSecret\) is not in the secrets directory"/);
    } finally {
      fs.writeFileSync(path.join(secretsDir, 'console-hmac'), HMAC, { mode: 0o600 });
    }
    await waitFor('the login back', async () => (await fetch(`${gw}/console/`, { redirect: 'manual' })).status === 302, { timeoutMs: 15_000, intervalMs: 200 });
  });
});
