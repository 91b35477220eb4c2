// The console in a real browser (Debian's Chromium, driven by playwright-core) against a real
// mesh, Prometheus included: it finds the services and their instances, a chart's value changes
// after traffic, a NACKed proxy shows with Envoy's reason, an unreachable source says which and
// why. Screenshots are kept beside the test's logs (the mesh's directory).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startConsole, type ConsoleProcess } from '../../launcher/console.js';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { startPrometheus, type PrometheusServer } from '../../launcher/prometheus.js';
import { repoRoot, toolPath } from '../../launcher/repo.js';
import { waitFor } from '../../launcher/wait.js';
import { sha256 } from '../../ext-authz/credentials/secrets.js';
import { OVERSIZED_REGEX } from '../helpers/oversized-regex.js';

describe('the console in a browser', () => {
  let mesh: GatewayMesh;
  let prom: PrometheusServer;
  let consoleProc: ConsoleProcess;
  let browser: Browser;
  let page: Page;
  const KEY = 'mgk_console_test_key_1';
  const call = (key = KEY) =>
    fetch(`${mesh.gatewayUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: '{"model":"x","messages":[{"role":"user","content":"hello"}]}' });
  // Kept after the run (test-results/ is ignored by git), whatever happens to the mesh's logs.
  const shots = path.join(repoRoot(), 'test-results', 'console');
  const shot = async (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

  before(async () => {
    // Callers of /v1/ need an API key (ext-authz); the gateway's access log goes to the console.
    mesh = await startGatewayMesh({
      xdsArgs: ['--register', '--access-log-service=meshgate-console'],
      authzPolicy: `policies:\n  default:\n    credentials:\n      - type: api_key\n        keys:\n          - {id: k1, sha256: ${sha256(KEY).toString('hex')}, subject: app, tenant: team-a}\n`,
    });
    await mesh.addInstance({ service: 'llm-chat', id: 'llm-chat-1', meta: { 'gateway-path': '/v1/' } });
    await mesh.addInstance({ service: 'llm-chat', id: 'llm-chat-2', meta: { 'gateway-path': '/v1/' } });
    await waitFor('the route', async () => (await call()).ok, { timeoutMs: 20_000, intervalMs: 200 });
    prom = await startPrometheus({ dir: mesh.dir, config: { discovery: { kind: 'xds-server', url: `http://127.0.0.1:${mesh.ports.xdsAdmin}` }, scrapeInterval: '1s', evaluationInterval: '1s' } });
    consoleProc = await startConsole({ xdsAdmin: `http://127.0.0.1:${mesh.ports.xdsAdmin}`, prometheus: prom.url, consulAddress: mesh.consul.address, logFile: path.join(mesh.dir, 'console.log') });
    browser = await chromium.launch({
      executablePath: toolPath('chromium'),
      // Root in a VM without a sandbox; no network beyond loopback to reach for.
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
      timeout: 30_000,
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(`${consoleProc.url}?refresh=1&service=llm-chat`, { timeout: 15_000 });
  });

  after(async () => {
    if (page) await shot('last').catch(() => undefined);
    await browser?.close();
    await consoleProc?.stop();
    await prom?.stop();
    await mesh?.stop();
  });

  it('finds the services and their instances, with their health', async () => {
    const row = page.locator('[data-service="llm-chat"]');
    await row.waitFor({ timeout: 15_000 });
    // The route answers once one instance passes; the page may first show the other still unchecked.
    await waitFor('both instances healthy on the page', async () => /2\/2 healthy/.test((await row.textContent()) ?? ''), { timeoutMs: 15_000, intervalMs: 200 }).catch(() => undefined);
    assert.match((await row.textContent()) ?? '', /2\/2 healthy/);
    assert.deepEqual(await row.locator('[data-instance]').evaluateAll((els) => els.map((e) => e.getAttribute('data-instance'))), ['llm-chat-1', 'llm-chat-2']);
    assert.deepEqual(await row.locator('[data-instance]').evaluateAll((els) => els.map((e) => e.getAttribute('data-registry'))), ['consul', 'consul']);
    assert.match((await page.locator('[data-list="registries"] [data-registry="consul"]').textContent()) ?? '', /consul up .*services/);
    const proxy = page.locator('[data-proxy]').first();
    await waitFor('the proxy shown SYNCED', async () => /SYNCED/.test((await proxy.textContent()) ?? ''), { timeoutMs: 15_000, intervalMs: 200 }).catch(() => undefined);
    assert.match((await proxy.textContent()) ?? '', /SYNCED/);
    await shot('services');
  });

  it('shows a chart’s value change after traffic', async () => {
    const latest = page.locator('[data-charts-of="llm-chat"] [data-latest="rps"]');
    await latest.waitFor({ timeout: 15_000 });
    const before = Number(await latest.textContent()) || 0;
    // A rate needs a scrape before the traffic: Prometheus finds the gateway's stats target by
    // polling the xds-server every 5 s, and a counter first seen after the traffic shows none.
    await waitFor(
      'Prometheus to have scraped the gateway',
      async () => {
        const t = (await (await fetch(`${prom.url}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ scrapeUrl: string; health: string }> } };
        return t.data.activeTargets.some((x) => x.scrapeUrl.includes('/stats/prometheus') && x.health === 'up');
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    // Traffic for a few seconds, while Prometheus scrapes every second.
    const until = Date.now() + 4_000;
    while (Date.now() < until) await Promise.all(Array.from({ length: 5 }, () => call()));
    await waitFor('the chart to show the traffic', async () => Number(await latest.textContent()) > before + 1, { timeoutMs: 30_000, intervalMs: 500 });
    // The service's row too, and the chart drew (uPlot's canvas).
    const cell = page.locator('[data-service="llm-chat"] [data-cell="rps"]');
    await waitFor('the service row to show the traffic', async () => Number(await cell.textContent()) > 0, { timeoutMs: 10_000, intervalMs: 250 });
    assert.equal(await page.locator('[data-chart="rps"] canvas').count(), 1);
    // What the bounds refused is beside it (none here): the column and the chart.
    assert.equal(await page.locator('[data-service="llm-chat"] [data-cell="refused"]').count(), 1);
    assert.equal(await page.locator('[data-charts-of="llm-chat"] [data-latest="refused"]').count(), 1);
    await shot('traffic');
  });

  it('shows a NACKed proxy with Envoy’s reason', async () => {
    await mesh.consul.api.kvPut(
      'meshgate/config/llm-chat-router',
      `Kind: service-router\nName: llm-chat\nRoutes:\n  - Match: {HTTP: {PathPrefix: /v1/x/, Header: [{Name: x-key, Regex: "${OVERSIZED_REGEX}"}]}}\n    Destination: {Service: llm-chat}\n`,
    );
    try {
      const proxy = page.locator(`[data-proxy="it-gateway-${mesh.ports.gateway}"]`);
      await waitFor('the NACK on the page', async () => (await proxy.locator('[data-cell="status"]').textContent()) === 'NACKED', { timeoutMs: 20_000, intervalMs: 250 });
      assert.match((await proxy.locator('[data-cell="reason"]').textContent()) ?? '', /route: .*RE2 program size of \d+ > max program size of 20000/);
      await shot('nacked');
    } finally {
      await mesh.consul.api.kvDelete('meshgate/config/llm-chat-router');
    }
    await waitFor('SYNCED again', async () => (await page.locator(`[data-proxy="it-gateway-${mesh.ports.gateway}"] [data-cell="status"]`).textContent()) === 'SYNCED', { timeoutMs: 20_000, intervalMs: 250 });
  });

  it('finds a denied request by its request id, with its status and who was asked', async () => {
    const denied = await call('wrong-key');
    assert.equal(denied.status, 401);
    const id = ((await denied.json()) as { error: { request_id: string } }).error.request_id;
    assert.ok(id, 'the gateway says the request id');
    await page.locator('[data-search="id"]').fill(id);
    const row = page.locator(`[data-request="${id}"]`);
    await row.waitFor({ timeout: 20_000 });
    assert.equal(await row.locator('[data-cell="status"]').textContent(), '401');
    assert.match((await row.textContent()) ?? '', /POST \/v1\/chat\/completions/);
    assert.match((await row.textContent()) ?? '', /ext_authz/);
    // Only that one request matches.
    assert.equal(await page.locator('[data-request]').count(), 1);
    await shot('denied-request');
    // And the allowed ones carry their service, instance and tenant.
    await page.locator('[data-search="id"]').fill('');
    await page.locator('[data-search="status"]').fill('200');
    const ok = page.locator('[data-request]').first();
    // The page shows the new search at its next poll.
    await waitFor('an allowed request listed', async () => (await ok.locator('[data-cell="status"]').textContent().catch(() => '')) === '200', { timeoutMs: 10_000, intervalMs: 200 });
    assert.match((await ok.textContent()) ?? '', /llm-chat.*127\.0\.0\.1:\d+.*team-a/s);
  });

  it('without Prometheus, scrapes the same targets itself: the traffic shows, alerts are said to need Prometheus', async () => {
    const own = await startConsole({ xdsAdmin: `http://127.0.0.1:${mesh.ports.xdsAdmin}`, scrapeInterval: '1s', logFile: path.join(mesh.dir, 'console-embedded.log') });
    try {
      const overview = async () => (await (await fetch(`${own.url}api/overview`)).json()) as { services: Array<{ name: string; traffic: { rps?: number; successRatio?: number } }>; unreachable: Array<{ source: string; reason: string }>; downTargets: unknown[] };
      await waitFor('a first scrape', async () => (await overview()).services.some((s) => s.name === 'llm-chat' && s.traffic.rps !== undefined), { timeoutMs: 15_000, intervalMs: 250 });
      const until = Date.now() + 3_000;
      while (Date.now() < until) await Promise.all(Array.from({ length: 5 }, () => call()));
      const o = await waitFor('the traffic in its own scrape', async () => {
        const v = await overview();
        return (v.services.find((s) => s.name === 'llm-chat')?.traffic.rps ?? 0) > 1 ? v : undefined;
      }, { timeoutMs: 15_000, intervalMs: 250 });
      assert.equal(o.services.find((s) => s.name === 'llm-chat')!.traffic.successRatio, 1);
      assert.deepEqual(o.unreachable.map((u) => u.source), ['alerts']);
      assert.match(o.unreachable[0]!.reason, /Prometheus only/);
      const series = (await (await fetch(`${own.url}api/series?service=llm-chat`)).json()) as { series: { rps: Array<[number, number]> } };
      assert.ok(series.series.rps.some(([, v]) => v > 1), 'the chart has the traffic');
    } finally {
      await own.stop();
    }
  });

  it('says which source it cannot read, and why', async () => {
    await prom.stop();
    const banner = page.locator('[data-unreachable="prometheus"]');
    await banner.waitFor({ timeout: 15_000 });
    // (Its first poll may catch a connection Prometheus closed on its way out; then it is refused.)
    await waitFor('the reason: refused', async () => /prometheus cannot be read: ECONNREFUSED/.test((await banner.textContent().catch(() => '')) ?? ''), { timeoutMs: 15_000, intervalMs: 250 });
    // What the xds-server says still shows.
    assert.match((await page.locator('[data-service="llm-chat"]').textContent()) ?? '', /2\/2 healthy/);
    await shot('no-prometheus');
  });
});
