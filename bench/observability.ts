// What observability costs, and how it scales (issue 13):
//   1. one Envoy's stats page with 1,000 clusters: its size, and the time to scrape it through
//      the stats listener (full, and ?usedonly as Prometheus asks) against the admin directly;
//   2. Prometheus series per service at that size (budget: 150 per service per proxy);
//   3. the console with 1,000 services: /api/overview's time, its memory, and the page's load
//      time in Chromium until the last service's row is drawn;
//   4. what the stats listener (scraped every second) and access-log delivery to the console add
//      to gateway latency at 2,000 requests/s: two gateways side by side on the same upstream,
//      one with both, one with neither, vegeta runs in turns.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startConsole } from '../launcher/console.js';
import { startGatewayEnvoy } from '../launcher/envoy-roles.js';
import { startGatewayMesh } from '../launcher/mesh.js';
import { freePorts } from '../launcher/ports.js';
import { startPrometheus } from '../launcher/prometheus.js';
import { toolPath } from '../launcher/repo.js';
import { waitFor } from '../launcher/wait.js';
import { startXdsServer } from '../launcher/xds-server.js';
import { fmt, machineDescription, percentile } from './lib/stats.js';
import { rssBytes } from './lib/proc.js';
import { vegetaGet } from './lib/vegeta.js';

const SERVICES = Number(process.env['BENCH_SERVICES'] ?? 1_000);
const RATE = Number(process.env['BENCH_RATE'] ?? 2_000);
const RATE_SECONDS = Number(process.env['BENCH_RATE_SECONDS'] ?? 5);
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const line = (s = ''): void => void process.stdout.write(`${s}\n`);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const p = (xs: number[], q: number) => percentile(sorted(xs), q);
const ok = (r: { p50: number; p99: number; success: number }) => ({ p50: r.p50, p99: r.p99, ok: r.success });

line('observability: stats pages, series, the console, and what delivery adds');
line(machineDescription({ envoy: toolPath('envoy'), prometheus: toolPath('prometheus'), chromium: toolPath('chromium'), vegeta: toolPath('vegeta') }));

// Gateway B (the mesh's): its stats listener scraped, its access log to the console.
const mesh = await startGatewayMesh({ xdsArgs: ['--register', '--access-log-service=meshgate-console'] });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-obs-bench-'));
try {
  const up = await mesh.addInstance({ service: 'llm-chat', id: 'llm-chat-1', meta: { 'gateway-path': '/v1/' } });
  void up;
  // 4 first, while the machine is quiet (before the 1,000 services): latency at a fixed rate,
  // gateway A (another xds-server: no access-log service; no stats listener, so nothing scrapes
  // it) against gateway B (both), same upstream, in turns, after a warm-up of each.
  const prom4 = await startPrometheus({ dir: path.join(dir, 'p4'), config: { discovery: { kind: 'xds-server', url: `http://127.0.0.1:${mesh.ports.xdsAdmin}` }, scrapeInterval: '1s', evaluationInterval: '1s' } });
  const con4 = await startConsole({ xdsAdmin: `http://127.0.0.1:${mesh.ports.xdsAdmin}`, prometheus: prom4.url, consulAddress: mesh.consul.address });
  const [xdsPort, xdsAdmin, aPort, aAdmin] = (await freePorts(4)) as [number, number, number, number];
  const xdsA = await startXdsServer({ consulAddress: mesh.consul.address, xdsPort, adminPort: xdsAdmin, extraArgs: ['--proxy-metrics-service=none'], logFile: path.join(dir, 'xds-a.log') });
  const gwA = await startGatewayEnvoy({ nodeId: 'bench-gateway-a', port: aPort, adminPort: aAdmin, xds: { host: '127.0.0.1', port: xdsPort }, workDir: dir, logFile: path.join(dir, 'envoy-a.log') });
  try {
    await waitFor('gateway A routes', async () => (await fetch(`http://127.0.0.1:${aPort}/v1/models`).catch(() => undefined))?.ok, { timeoutMs: 120_000, intervalMs: 500 });
    vegetaGet(`http://127.0.0.1:${aPort}/v1/models`, RATE, 2, dir);
    vegetaGet(`${mesh.gatewayUrl}/v1/models`, RATE, 2, dir);
    const a: Array<{ p50: number; p99: number; ok: number }> = [];
    const b: Array<{ p50: number; p99: number; ok: number }> = [];
    for (let i = 0; i < REPS; i++) {
      a.push(ok(vegetaGet(`http://127.0.0.1:${aPort}/v1/models`, RATE, RATE_SECONDS, dir)));
      b.push(ok(vegetaGet(`${mesh.gatewayUrl}/v1/models`, RATE, RATE_SECONDS, dir)));
    }
    // (A keep-alive socket the console closed while vegeta ran may fail the first try.)
    const requests = () => fetch(`${con4.url}api/requests?limit=1`).then((r) => r.json() as Promise<{ kept: number }>);
    const kept = await requests().catch(requests);
    const med = (xs: Array<{ p50: number; p99: number }>, k: 'p50' | 'p99') => p(xs.map((x) => x[k]), 50);
    line();
    line(`4. ${RATE}/s GET /v1/models for ${RATE_SECONDS}s, ${REPS} runs in turns (medians):`);
    line(`   neither: p50 ${fmt(med(a, 'p50'))} ms, p99 ${fmt(med(a, 'p99'))} ms; stats scraped every second + access log to the console: p50 ${fmt(med(b, 'p50'))} ms, p99 ${fmt(med(b, 'p99'))} ms`);
    line(`   added p50 ${fmt(med(b, 'p50') - med(a, 'p50'))} ms, p99 ${fmt(med(b, 'p99') - med(a, 'p99'))} ms; success ${b.map((x) => (x.ok * 100).toFixed(1)).join('/')}% vs ${a.map((x) => (x.ok * 100).toFixed(1)).join('/')}%; the console kept ${kept.kept} requests`);
  } finally {
    await gwA.stop();
    await xdsA.stop();
    await con4.stop();
    await prom4.stop();
  }

  for (let i = 0; i < SERVICES; i++) {
    await mesh.consul.api.register({ ID: `svc-${i}-1`, Name: `svc-${i}`, Address: '127.0.0.1', Port: 9, Meta: { 'gateway-path': `/svc-${i}/` } });
  }
  await waitFor('the clusters at the gateway', async () => (await mesh.envoy.admin.clusters()).size >= SERVICES, { timeoutMs: 120_000, intervalMs: 1_000 });
  // Some traffic, so that a service's stats are "used".
  for (let i = 0; i < 200; i++) await fetch(`${mesh.gatewayUrl}/v1/models`);

  // 1. The stats page.
  const timed = async (url: string, n = 20): Promise<{ bytes: number; ms: number[] }> => {
    const ms: number[] = [];
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      bytes = (await (await fetch(url)).arrayBuffer()).byteLength;
      ms.push(performance.now() - t);
    }
    return { bytes, ms };
  };
  const clusters = (await mesh.envoy.admin.clusters()).size;
  line();
  line(`1. one gateway Envoy with ${clusters} clusters: its stats page (20 fetches each, one at a time)`);
  for (const [label, url] of [
    ['admin, full', `http://127.0.0.1:${mesh.ports.envoyAdmin}/stats/prometheus`],
    ['stats listener, full', `http://127.0.0.1:${mesh.ports.envoyStats}/stats/prometheus`],
    ['admin, ?usedonly', `http://127.0.0.1:${mesh.ports.envoyAdmin}/stats/prometheus?usedonly`],
    ['stats listener, ?usedonly (as Prometheus asks)', `http://127.0.0.1:${mesh.ports.envoyStats}/stats/prometheus?usedonly`],
  ] as const) {
    const r = await timed(url);
    line(`  ${label}: ${(r.bytes / 2 ** 20).toFixed(1)} MiB, p50 ${fmt(p(r.ms, 50))} ms, p99 ${fmt(p(r.ms, 99))} ms`);
  }

  // 2. Series per service in Prometheus.
  const prom = await startPrometheus({ dir, config: { discovery: { kind: 'xds-server', url: `http://127.0.0.1:${mesh.ports.xdsAdmin}` }, scrapeInterval: '1s', evaluationInterval: '1s' } });
  await waitFor('the gateway scraped', async () => (await prom.query('up{job="meshgate-envoy"}')).some((s) => s.value === 1), { timeoutMs: 60_000, intervalMs: 500 });
  await new Promise((r) => setTimeout(r, 5_000));
  const perService = (await prom.query('count by (service) ({job="meshgate-envoy",service!=""})')).map((s) => s.value);
  const total = (await prom.query('count({job="meshgate-envoy"})'))[0]?.value ?? 0;
  const scrape = (await prom.query('scrape_duration_seconds{job="meshgate-envoy"}')).map((s) => s.value * 1000);
  line();
  line(`2. Prometheus, the gateway scraped every second (?usedonly): ${total} series from it, ${perService.length} services;`);
  line(`   series per service: median ${p(perService, 50)}, max ${Math.max(...perService)} (budget 150); scrape duration ${scrape.map((x) => fmt(x)).join(', ')} ms`);

  // 3. The console with all those services.
  const con = await startConsole({ xdsAdmin: `http://127.0.0.1:${mesh.ports.xdsAdmin}`, prometheus: prom.url, consulAddress: mesh.consul.address });
  const before = rssBytes(con.process.pid);
  const overview = await timed(`${con.url}api/overview`, 10);
  const after = rssBytes(con.process.pid);
  const browser = await chromium.launch({ executablePath: toolPath('chromium'), args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
  const loads: number[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const page = await browser.newPage();
      const t = performance.now();
      await page.goto(con.url);
      await page.locator(`[data-service="svc-${SERVICES - 1}"]`).waitFor({ timeout: 60_000 });
      loads.push(performance.now() - t);
      await page.close();
    }
  } finally {
    await browser.close();
  }
  line();
  line(`3. the console with ${SERVICES + 4} services: /api/overview ${(overview.bytes / 1024).toFixed(0)} KiB, p50 ${fmt(p(overview.ms, 50))} ms (the first, cold: ${fmt(overview.ms[0]!)} ms);`);
  line(`   its RSS ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB; page load in Chromium until the last service's row: p50 ${fmt(p(loads, 50))} ms, max ${fmt(Math.max(...loads))} ms`);

  await con.stop();
  await prom.stop();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
  await mesh.stop();
}
