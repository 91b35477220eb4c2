// What the gateway's own configuration costs Envoy per call, part by part. The gateway's
// listener, routes and clusters are taken from a running gateway's config dump and served
// statically by a second Envoy, whole and with one part taken out at a time, beside a bare Envoy
// (a router and one route to the same upstream): Envoy's CPU per plain call for each, measured in
// turns (wrk at 10 connections, 1 KB POST with the openai SDK's headers). The upstream answers as
// fast as node does; Envoy and the upstream on core 0, wrk on core 1.
// BENCH_SECONDS sets each run's length, BENCH_ROUNDS the rounds (medians printed).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGatewayMesh, type GatewayMesh } from '../launcher/mesh.js';
import { startModelService, type ModelServiceProcess } from '../launcher/model-service.js';
import { freePorts } from '../launcher/ports.js';
import type { ManagedProcess } from '../launcher/process.js';
import { waitFor } from '../launcher/wait.js';
import { median } from './lib/grpc-load.js';
import { fmt, machineDescription } from './lib/stats.js';
import { SDK_HEADERS } from './lib/sdk-headers.js';
import { bootstrap, clone, dumped, hcmOf, startStaticEnvoy, type Json } from './lib/static-gateway.js';
import { pinWrk, wrk, wrkWithCpu, type WrkCpuRun } from './lib/wrk.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const line = (s = ''): void => void process.stdout.write(`${s}\n`);
execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
pinWrk('1');

const BODY_1K = JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'x'.repeat(1024 - 64) }] });

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-envoy-cost-'));
const script = path.join(dir, 'post.lua');
const getScript = path.join(dir, 'get.lua');
fs.writeFileSync(getScript, Object.entries(SDK_HEADERS).map(([k, v]) => `wrk.headers["${k}"] = "${v}"\n`).join(''));
fs.writeFileSync(script, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n${Object.entries(SDK_HEADERS).map(([k, v]) => `wrk.headers["${k}"] = "${v}"\n`).join('')}wrk.body = [[${BODY_1K}]]\n`);

type Variant = readonly [name: string, edit: (listener: Json) => void];

const filtersOf = (l: Json): Json[] => hcmOf(l)['http_filters'] as Json[];
const dropFilter = (name: string) => (l: Json): void => {
  const hcm = hcmOf(l);
  hcm['http_filters'] = (hcm['http_filters'] as Json[]).filter((f) => f['name'] !== name);
};

const VARIANTS: readonly Variant[] = [
  ['gateway, as served', () => {}],
  ['without the stdout access log', (l) => {
    const hcm = hcmOf(l);
    hcm['access_log'] = (hcm['access_log'] as Json[]).filter((a) => a['name'] !== 'envoy.access_loggers.stdout');
  }],
  ['without any access log', (l) => void delete hcmOf(l)['access_log']],
  ['without local_reply_config', (l) => void delete hcmOf(l)['local_reply_config']],
  ['without custom_response', dropFilter('envoy.filters.http.custom_response')],
  ['without header_mutation', dropFilter('envoy.filters.http.header_mutation')],
  ['without json_to_metadata', dropFilter('envoy.filters.http.json_to_metadata')],
  ['without path normalisation', (l) => {
    const hcm = hcmOf(l);
    for (const k of ['normalize_path', 'merge_slashes', 'path_with_escaped_slashes_action']) delete hcm[k];
  }],
  ['router alone (gateway HCM settings)', (l) => {
    const hcm = hcmOf(l);
    hcm['http_filters'] = filtersOf(l).filter((f) => f['name'] === 'envoy.filters.http.router');
    delete hcm['access_log'];
    delete hcm['local_reply_config'];
  }],
];

interface Runner {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  readonly proc: ManagedProcess;
  readonly admin: string;
  /** Every call refused (the route's cluster has no endpoint). */
  readonly refusing: boolean;
  /** wrk's script: the 1 KB POST unless given (a GET without a body, say). */
  readonly script?: string;
}

/** The connections callers opened to this Envoy so far (every HTTP connection manager's). */
async function connectionsOpened(r: Runner): Promise<number> {
  const text = await (await fetch(`${r.admin}/stats?filter=${encodeURIComponent('^http\\.[^.]+\\.downstream_cx_total$')}`)).text();
  return [...text.matchAll(/: (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** The cluster `fast` without endpoints: every call to it refused by Envoy's router (503, no healthy upstream). */
function refusing(clusters: readonly Json[]): Json[] {
  return clusters.map((c) => (c['name'] === 'fast' ? { ...c, load_assignment: { cluster_name: 'fast' } } : c));
}

async function startStatic(name: string, config: Json, refusing = false): Promise<Runner> {
  const e = await startStaticEnvoy(name, config, dir);
  return { name, url: `http://127.0.0.1:${e.port}/fast/v1/chat/completions`, pid: e.pid, proc: e.proc, admin: e.admin, refusing };
}

/** A bare Envoy: one route to the upstream, the router alone, defaults everywhere else. */
function bareBootstrap(port: number, adminPort: number, upstream: number, refused = false): Json {
  return {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    static_resources: {
      listeners: [{
        name: 'bare',
        address: { socket_address: { address: '127.0.0.1', port_value: port } },
        filter_chains: [{ filters: [{
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            stat_prefix: 'bare',
            route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/fast/' }, route: { cluster: 'fast', prefix_rewrite: '/' } }] }] },
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
          },
        }] }],
      }],
      clusters: (refused ? refusing : (c: Json[]) => c)([{ name: 'fast', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'fast', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstream } } } }] }] } }]),
    },
  };
}

let mesh: GatewayMesh | undefined;
let upstream: ModelServiceProcess | undefined;
const runners: Runner[] = [];
try {
  line(`# what the gateway's configuration costs Envoy per plain call; ${machineDescription()}`);
  line(`# ${ROUNDS} round(s) of ${SECONDS}s per configuration, in turns; wrk -c10 on core 1, Envoy and the upstream on core 0`);
  mesh = await startGatewayMesh({ llm: true });
  upstream = await startModelService({ service: 'fast', id: 'fast-1', consulAddress: mesh.consul.address, meta: { 'auth-policy': 'none', 'gateway-path': '/fast/' } });
  await mesh.consul.api.kvPut('meshgate/config/fast', 'Kind: service-router\nName: fast\nRoutes:\n  - Match: {HTTP: {PathPrefix: /fast/}}\n    Destination: {PrefixRewrite: /}\n');
  const gatewayUrl = `${mesh.gatewayUrl}/fast/v1/chat/completions`;
  await waitFor('the fast route answers', async () => (await fetch(gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY_1K })).ok, { timeoutMs: 30_000, intervalMs: 250 });
  const d = dumped(await mesh.envoy.admin.configDump(true));
  runners.push({ name: 'the gateway itself (over ADS)', url: gatewayUrl, pid: mesh.envoy.process.pid!, proc: mesh.envoy.process, admin: mesh.envoy.admin.baseUrl, refusing: false });
  const upstreamPort = Number(new URL(upstream.url).port);
  for (const [name, edit] of VARIANTS) {
    const l = clone(d.listener);
    edit(l);
    const [port, admin] = await freePorts(2);
    runners.push(await startStatic(name, bootstrap(d, port!, admin!, l)));
  }
  const [bp, ba, rp, ra, gp, ga] = await freePorts(6);
  runners.push(await startStatic('bare Envoy', bareBootstrap(bp!, ba!, upstreamPort)));
  const bareRefusing = await startStatic('bare Envoy, every call refused', bareBootstrap(rp!, ra!, upstreamPort, true), true);
  runners.push(bareRefusing);
  // A call without a body is whole when its headers are: Envoy answers it and keeps the connection.
  runners.push({ ...bareRefusing, name: 'bare Envoy, every call refused, GET without a body', script: getScript });
  const gatewayRefusing = await startStatic('gateway, every call refused', bootstrap({ ...d, clusters: refusing(d.clusters) }, gp!, ga!, d.listener), true);
  runners.push(gatewayRefusing, { ...gatewayRefusing, name: 'gateway, every call refused, GET without a body', script: getScript });
  for (const r of runners) {
    const res = await fetch(r.url, { method: 'POST', headers: { 'content-type': 'application/json', ...SDK_HEADERS }, body: BODY_1K });
    if (res.ok === r.refusing) throw new Error(`${r.name}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
    wrk(r.url, {}, 10, 2, r.script ?? script);
  }
  const results = new Map<string, WrkCpuRun[]>(runners.map((r) => [r.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of runners) {
      const opened = await connectionsOpened(r);
      const run = wrkWithCpu(r.url, {}, 10, SECONDS, { envoy: r.pid, upstream: upstream.process.pid! }, r.script ?? script);
      const calls = run.rps * SECONDS;
      if (r.refusing ? run.non2xx < calls * 0.99 : run.non2xx > 0) throw new Error(`${r.name}: ${run.non2xx} of ${Math.round(calls)} answers not 2xx`);
      const connections = (await connectionsOpened(r)) - opened;
      results.get(r.name)!.push({ ...run, cpu: { ...run.cpu, connections: connections / calls } });
      line(`  round ${round + 1} ${r.name}: ${Math.round(run.rps)}/s, Envoy ${fmt(run.cpu['envoy']!)} µs a call (kernel ${fmt(run.cpu['envoy (kernel)']!)}), ${connections} connections opened`);
    }
  }
  const bare = median(results.get('bare Envoy')!.map((r) => r.cpu['envoy']!));
  line();
  line('| configuration | calls/s | Envoy µs CPU a call (user + kernel) | kernel | against bare Envoy | connections opened a call |');
  line('|---|---|---|---|---|---|');
  for (const r of runners) {
    const runs = results.get(r.name)!;
    const us = median(runs.map((x) => x.cpu['envoy']!));
    line(`| ${r.name} | ${Math.round(median(runs.map((x) => x.rps)))} | ${fmt(us)} | ${fmt(median(runs.map((x) => x.cpu['envoy (kernel)']!)))} | ${(us / bare).toFixed(2)}× | ${median(runs.map((x) => x.cpu['connections']!)).toFixed(3)} |`);
  }
} finally {
  for (const r of runners) if (r.proc !== mesh?.envoy.process) await r.proc.stop();
  await upstream?.stop();
  await mesh?.stop();
}
