// What a browser session costs a request through the gateway: the same upstream on three paths,
//   1. public (no login, ext_authz off): the reference;
//   2. an API key (ext_authz on, meshgate's ext-authz deciding; the login skipped for it);
//   3. a logged-in browser's session: Envoy's oauth2 filter checks the session cookies' HMAC and
//      decrypts the ID token, hands it on as Authorization, and ext-authz verifies it (RS256,
//      the provider's JWKS; remembered after its first check).
// The session is a real one: headless Chromium logs in at the demo's OpenID provider once, and
// its cookies go to wrk. For each: requests/s, p50 and p99, and the CPU each process spent per
// request, runs in turns, medians.
//   node dist/bench/browser-login.js        (BENCH_SECONDS, BENCH_REPS)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { sha256 } from '../ext-authz/credentials/secrets.js';
import { startGatewayMesh } from '../launcher/mesh.js';
import { freePorts } from '../launcher/ports.js';
import { toolPath } from '../launcher/repo.js';
import { waitFor } from '../launcher/wait.js';
import { IDP_CLIENTS, IdentityProvider, logInInBrowser } from '../test/helpers/identity-provider.js';
import { fmt, machineDescription } from './lib/stats.js';
import { medianRun, wrkWithCpu, type WrkCpuRun } from './lib/wrk.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const line = (s = ''): void => void process.stdout.write(`${s}\n`);
const KEY = 'mgk_login_bench_key';

line('a logged-in browser session through the gateway, beside an API key and a public path');
line(machineDescription({ envoy: toolPath('envoy'), wrk: toolPath('wrk') }));
line(`wrk -t1, ${SECONDS}s per run, ${REPS} runs of each in turns, medians; Envoy --concurrency 1, a node upstream, ext-authz, the provider, wrk: all on the 2 cores`);

const [idpPort] = (await freePorts(1)) as [number];
const issuer = `http://127.0.0.1:${idpPort}`;
const secrets = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-login-secrets-'));
fs.writeFileSync(path.join(secrets, 'client'), IDP_CLIENTS.console.secret);
fs.writeFileSync(path.join(secrets, 'hmac'), 'bench-hmac-secret-0123456789abcdef-0123456789');
const policy = `policies:
  default:
    credentials:
      - {type: api_key, keys: [{id: k1, sha256: ${sha256(KEY).toString('hex')}, subject: bench}]}
  people:
    credentials:
      - {type: jwt, issuer: "${issuer}", audiences: [${IDP_CLIENTS.console.id}], algorithms: [RS256], jwks_uri: "${issuer}/jwks", claims: {subject: sub, scopes: meshgate_roles}}
      - {type: api_key, keys: [{id: k1, sha256: ${sha256(KEY).toString('hex')}, subject: bench}]}
`;
const mesh = await startGatewayMesh({ authzPolicy: policy, xdsArgs: [`--secrets-dir=${secrets}`] });
const gw = `http://localhost:${mesh.ports.gateway}`;
const idp = await new IdentityProvider(idpPort, path.join(mesh.dir, 'oidc-provider.log'), { login: [`${gw}/app/oauth2/callback`], logout: [] }).start();
try {
  await mesh.consul.api.kvPut('meshgate/config/login', `Kind: browser-login\nName: people\nIssuer: ${issuer}\nClientId: ${IDP_CLIENTS.console.id}\nClientSecret: client\nHmacSecret: hmac\nScopes: [openid, meshgate]\nPassThroughHeaders: [x-api-key]\n`);
  const upstream = await mesh.addInstance({ service: 'echo', id: 'echo-1', meta: { 'gateway-path': '/open', 'auth-policy': 'none' } });
  const app = await mesh.addInstance({ service: 'app', id: 'app-1', meta: { 'gateway-path': '/app/', 'auth-policy': 'people', login: 'people' } });
  await waitFor('the routes', async () => (await fetch(`${gw}/open`)).ok && (await fetch(`${gw}/app/x`, { redirect: 'manual' })).status === 302, { timeoutMs: 30_000, intervalMs: 200 });

  // One real login, in a browser; its cookies are the session wrk sends.
  const browser = await chromium.launch({ executablePath: toolPath('chromium'), args: ['--no-sandbox', '--disable-gpu'], timeout: 30_000 });
  let cookie: string;
  try {
    const context = await browser.newContext();
    await logInInBrowser(await context.newPage(), `${gw}/app/x`, issuer, 'alice');
    cookie = (await context.cookies(gw)).map((c) => `${c.name}=${c.value}`).join('; ');
  } finally {
    await browser.close();
  }
  const session = await fetch(`${gw}/app/x`, { headers: { cookie }, redirect: 'manual' });
  if (session.status !== 200) throw new Error(`the session does not get through: ${session.status}`);
  line(`a session of ${Buffer.byteLength(cookie)} bytes of cookies (the ID token encrypted in them)`);

  // The two paths' upstreams are the same program, one process each: their CPU is counted together.
  const pids = { envoy: mesh.envoy.process.pid, 'ext-authz': mesh.authz!.process.pid, 'public upstream': upstream.process.pid, 'app upstream': app.process.pid };
  const cases: Array<[label: string, url: string, headers: Record<string, string>]> = [
    ['public', `${gw}/open`, {}],
    ['API key (ext-authz)', `${gw}/app/x`, { 'x-api-key': KEY }],
    ['browser session (oauth2 + ID token at ext-authz)', `${gw}/app/x`, { cookie }],
  ];
  for (const c of [1, 10]) {
    const runs = new Map<string, WrkCpuRun[]>();
    for (let i = 0; i < REPS; i++) for (const [label, url, headers] of cases) runs.set(label, [...(runs.get(label) ?? []), wrkWithCpu(url, headers, c, SECONDS, pids)]);
    const base = medianRun(runs.get('public')!);
    line();
    line(`${c} connection${c > 1 ? 's' : ''}:`);
    for (const [label] of cases) {
      const r = medianRun(runs.get(label)!);
      const cpu = Object.entries(r.cpu).filter(([k]) => !k.endsWith('(kernel)')).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
      line(`  ${label.padEnd(50)} ${Math.round(r.rps)}/s (${((r.rps / base.rps) * 100).toFixed(0)}%), p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms; CPU µs per request: ${cpu}`);
    }
  }
} finally {
  await idp.stop();
  await mesh.stop();
  fs.rmSync(secrets, { recursive: true, force: true });
}
