// `npm run demo`: Consul, the xds-server, ext-authz, ratelimit-service, the LLM processor
// (ext-proc), model services (llm-chat ×2 serving llama-3.1-8b and shared-7b, llm-qwen serving
// qwen2.5-7b and — under its own name — shared-7b as the fallback provider, llm-embed serving an embeddings model,
// llm-claude speaking Anthropic's Messages API (claude-sim) and llm-ollama Ollama's (gemma-sim),
// llm-pool ×3 simulated GPU servers serving pool-8b, placed by the endpoint picker), an
// "agent" service with its own sidecar Envoy, config entries in Consul KV (the chat-default
// alias among them), a gateway Envoy, Prometheus (meshgate's rules and alerts) and the console on
// this machine, then the lines to try. Ctrl-C stops everything and removes temporary data.
//
// --registry zookeeper|eureka|mixed: the demo's services register in a ZooKeeper (Curator's
// layout, as Spring Cloud Zookeeper does) or a Eureka server (with a Eureka client's heartbeats)
// started beside Consul instead; mixed spreads them over all three. Consul still holds the config
// entries and meshgate's own components (docs/registries.md).
// --zookeeper-port/ZOOKEEPER_PORT 2181, --eureka-port/EUREKA_PORT 8761.
//
// Ports (flags or environment): --gateway-port/GATEWAY_PORT 8080, --envoy-admin-port/
// ENVOY_ADMIN_PORT 9901, --consul-port/CONSUL_PORT 8500, --xds-port/XDS_PORT 18000,
// --xds-admin-port/XDS_ADMIN_PORT 18001, --authz-port/AUTHZ_PORT 9191 (admin and token endpoint: the next two),
// --ratelimit-port/RATELIMIT_PORT 8081 (admin: 6070, or RATELIMIT_ADMIN_PORT),
// --ext-proc-port/EXT_PROC_PORT 9194 (admin: the next port), the agent's
// sidecar --sidecar-port/SIDECAR_PORT 15000 (inbound; outbound, admin and stats: the next three),
// --gateway-stats-port/GATEWAY_STATS_PORT 15090 (the gateway's Prometheus stats),
// --prometheus-port/PROMETHEUS_PORT 9090, --console-port/CONSOLE_PORT 9300, the demo's OpenID
// provider --idp-port/IDP_PORT 9400 (the console's login through the gateway, introspected tokens).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startConsul, tempDir, type ConsulAgent } from '../launcher/consul-agent.js';
import type { Component } from '../launcher/component.js';
import type { EnvoyProcess } from '../launcher/envoy.js';
import YAML from 'yaml';
import { startGatewayEnvoy, startSidecarEnvoy } from '../launcher/envoy-roles.js';
import { freePorts } from '../launcher/ports.js';
import { startExtAuthz } from '../launcher/ext-authz.js';
import { startExtProc } from '../launcher/ext-proc.js';
import { startRatelimit } from '../launcher/ratelimit.js';
import { repoRoot } from '../launcher/repo.js';
import { isPort } from '../shared/host-port.js';
import { startModelService, type ModelServiceProcess } from '../launcher/model-service.js';
import type { ManagedProcess } from '../launcher/process.js';
import { waitFor } from '../launcher/wait.js';
import { startConsole, type ConsoleProcess } from '../launcher/console.js';
import { startPrometheus, type PrometheusServer } from '../launcher/prometheus.js';
import { startXdsServer, type XdsServerProcess } from '../launcher/xds-server.js';
import { EurekaServer } from '../launcher/eureka.js';
import type { InstanceRegistry } from '../launcher/model-service.js';
import { ZooKeeperServer } from '../launcher/zookeeper.js';
import { startIdentityProvider, type IdentityProviderProcess } from '../launcher/identity-provider.js';
import { PROVIDER_CLIENTS } from '../demo/identity-provider.js';

const { values } = parseArgs({
  options: {
    'gateway-port': { type: 'string' },
    'envoy-admin-port': { type: 'string' },
    'consul-port': { type: 'string' },
    'xds-port': { type: 'string' },
    'xds-admin-port': { type: 'string' },
    'authz-port': { type: 'string' },
    'ratelimit-port': { type: 'string' },
    'ratelimit-admin-port': { type: 'string' },
    'sidecar-port': { type: 'string' },
    'ext-proc-port': { type: 'string' },
    'prometheus-port': { type: 'string' },
    'console-port': { type: 'string' },
    'gateway-stats-port': { type: 'string' },
    'idp-port': { type: 'string' },
    registry: { type: 'string', default: 'consul' },
    'zookeeper-port': { type: 'string' },
    'eureka-port': { type: 'string' },
  },
});

const REGISTRY_MODES = ['consul', 'zookeeper', 'eureka', 'mixed'] as const;
type RegistryMode = (typeof REGISTRY_MODES)[number];
if (!(REGISTRY_MODES as readonly string[]).includes(values.registry!)) {
  process.stderr.write(`--registry ${values.registry}: one of ${REGISTRY_MODES.join(', ')}\n`);
  process.exit(2);
}
const mode = values.registry as RegistryMode;

function port(flag: string | undefined, envName: string, fallback: number): number {
  const raw = flag ?? process.env[envName] ?? String(fallback);
  const n = Number(raw);
  if (!isPort(n)) throw new Error(`${envName}: ${raw} is not a port`);
  return n;
}

const ports = {
  gateway: port(values['gateway-port'], 'GATEWAY_PORT', 8080),
  envoyAdmin: port(values['envoy-admin-port'], 'ENVOY_ADMIN_PORT', 9901),
  consul: port(values['consul-port'], 'CONSUL_PORT', 8500),
  xds: port(values['xds-port'], 'XDS_PORT', 18000),
  xdsAdmin: port(values['xds-admin-port'], 'XDS_ADMIN_PORT', 18001),
  authz: port(values['authz-port'], 'AUTHZ_PORT', 9191),
  ratelimit: port(values['ratelimit-port'], 'RATELIMIT_PORT', 8081),
  ratelimitAdmin: port(values['ratelimit-admin-port'], 'RATELIMIT_ADMIN_PORT', 6070),
  sidecar: port(values['sidecar-port'], 'SIDECAR_PORT', 15000),
  extProc: port(values['ext-proc-port'], 'EXT_PROC_PORT', 9194),
  prometheus: port(values['prometheus-port'], 'PROMETHEUS_PORT', 9090),
  console: port(values['console-port'], 'CONSOLE_PORT', 9300),
  gatewayStats: port(values['gateway-stats-port'], 'GATEWAY_STATS_PORT', 15090),
  zookeeper: port(values['zookeeper-port'], 'ZOOKEEPER_PORT', 2181),
  eureka: port(values['eureka-port'], 'EUREKA_PORT', 8761),
  idp: port(values['idp-port'], 'IDP_PORT', 9400),
};

/** Where the xds-server reads config entries (its default prefix). */
const ENTRIES_PREFIX = 'meshgate/config/';

/** The demo's API key (its SHA-256 is in demo/policies.yaml). */
const DEMO_API_KEY = 'mgk_demo_team_a_7Qx2';
/** team-b's batch key (demo/policies.yaml): its calls mark themselves sheddable when they fill the pool. */
const BATCH_API_KEY = 'mgk_demo_team_b_3Kp9';
/** The console's operator key for scripts (demo/policies.yaml, policy console). */
const OPERATOR_KEY = 'mgk_demo_operator_8Vn4';

const work = tempDir('demo');
const logs = path.join(work, 'logs');
fs.mkdirSync(logs);
const say = (line: string): void => void process.stdout.write(`${line}\n`);

let consul: ConsulAgent | undefined;
let xds: XdsServerProcess | undefined;
let authz: Component | undefined;
let ratelimit: Component | undefined;
let extProc: Component | undefined;
let envoy: EnvoyProcess | undefined;
let sidecar: EnvoyProcess | undefined;
let prometheus: PrometheusServer | undefined;
let consoleProc: ConsoleProcess | undefined;
let idp: IdentityProviderProcess | undefined;
let zookeeper: ZooKeeperServer | undefined;
let eureka: EurekaServer | undefined;
const instances: ModelServiceProcess[] = [];
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('\nstopping the demo …');
    await consoleProc?.stop().catch(() => undefined);
    await prometheus?.stop().catch(() => undefined);
    await envoy?.stop().catch(() => undefined);
    await sidecar?.stop().catch(() => undefined);
    for (const i of instances) await i.stop().catch(() => undefined);
    await xds?.stop().catch(() => undefined);
    await authz?.stop().catch(() => undefined);
    await ratelimit?.stop().catch(() => undefined);
    await extProc?.stop().catch(() => undefined);
    await consul?.stop().catch(() => undefined);
    await idp?.stop().catch(() => undefined);
    await zookeeper?.stop().catch(() => undefined);
    await eureka?.stop().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
    say('stopped; temporary data removed');
  }
  process.exit(code);
}

/** A demo service instance may die (kill -9 is a way to watch failover): say so, keep running. */
function watchInstance(p: ManagedProcess): void {
  void p.exited.then((code) => {
    if (stopping) return;
    say(`\n${p.name} is gone (${code}); the mesh routes around it: Envoy retries on the others, and Consul marks it critical within a few seconds`);
  });
}

/** The mesh's own parts: without one of them the demo cannot go on. */
function watchForCrash(p: ManagedProcess): void {
  void p.exited.then((code) => {
    if (stopping) return;
    say(`\n${p.name} exited unexpectedly (${code}); its last output:\n${p.tail()}`);
    void shutdown(1);
  });
}

/** Where an instance registers: the chosen registry; in the mixed mode llm-chat-2 in ZooKeeper and the pool in Eureka. */
function registryOf(id: string): 'consul' | 'zookeeper' | 'eureka' {
  if (mode !== 'mixed') return mode;
  if (id === 'llm-chat-2') return 'zookeeper';
  return id.startsWith('llm-pool') ? 'eureka' : 'consul';
}

function registryName(id: string): string {
  return { consul: 'Consul', zookeeper: 'ZooKeeper', eureka: 'Eureka' }[registryOf(id)];
}

/** startModelService's registry option for an instance (heartbeats every 5 s in Eureka: a lease lapses in 15). */
function registered(id: string): { registry?: InstanceRegistry } {
  const r = registryOf(id);
  if (r === 'zookeeper') return { registry: { kind: 'zookeeper', connect: zookeeper!.connect, sessionTimeoutMs: 10_000 } };
  if (r === 'eureka') return { registry: { kind: 'eureka', url: eureka!.url, heartbeatMs: 5_000 } };
  return {};
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  say(`meshgate demo (logs in ${logs})`);
  consul = await startConsul({ httpPort: ports.consul, logFile: path.join(logs, 'consul.log') });
  watchForCrash(consul.process);
  say(`  consul        http://127.0.0.1:${ports.consul}/ui`);
  if (mode === 'zookeeper' || mode === 'mixed') {
    zookeeper = await new ZooKeeperServer({ port: ports.zookeeper, dir: work, logFile: path.join(logs, 'zookeeper.log') }).start();
    say(`  zookeeper     ${zookeeper.connect} (the demo's services register under /services, Curator's layout)`);
  }
  if (mode === 'eureka' || mode === 'mixed') {
    say('  eureka        starting Spring Cloud Netflix\'s Eureka server (some seconds) …');
    eureka = await new EurekaServer({ port: ports.eureka, logFile: path.join(logs, 'eureka.log') }).start();
    say(`  eureka        ${eureka.url}/apps (the demo's services register with a Eureka client)`);
  }

  // The company's OpenID provider, as the demo has it: the console's login through the gateway
  // (its callback at either name of the gateway's address), and the tokens partner apps hold.
  const gatewayOrigins = [`http://localhost:${ports.gateway}`, `http://127.0.0.1:${ports.gateway}`];
  idp = await startIdentityProvider({
    port: ports.idp,
    loginRedirects: gatewayOrigins.map((o) => `${o}/console/oauth2/callback`),
    logoutRedirects: gatewayOrigins.map((o) => `${o}/`),
    logFile: path.join(logs, 'oidc-provider.log'),
  });
  watchForCrash(idp.process);
  say(`  openid        ${idp.issuer} (the demo's provider: log in as alice, bob or carol, any password)`);
  // The browser login's secrets, a file each, for the xds-server to send Envoy over SDS.
  const secretsDir = path.join(work, 'secrets');
  fs.mkdirSync(secretsDir, { mode: 0o700 });
  fs.writeFileSync(path.join(secretsDir, 'console-client'), PROVIDER_CLIENTS.console.secret, { mode: 0o600 });
  fs.writeFileSync(path.join(secretsDir, 'console-hmac'), randomBytes(32).toString('base64'), { mode: 0o600 });

  // Its token endpoint on the port after its admin's; the policies' addresses (the token
  // endpoint's JWKS, the OpenID provider) follow when the ports move.
  const tokenPort = ports.authz + 2;
  const moved = tokenPort !== 9193 || ports.idp !== 9400;
  const policyFile = moved ? path.join(work, 'policies.yaml') : path.join(repoRoot(), 'demo', 'policies.yaml');
  if (moved) {
    const text = fs.readFileSync(path.join(repoRoot(), 'demo', 'policies.yaml'), 'utf8');
    fs.writeFileSync(policyFile, text.replaceAll('http://127.0.0.1:9193/', `http://127.0.0.1:${tokenPort}/`).replaceAll('http://127.0.0.1:9400', idp.issuer));
  }
  authz = await startExtAuthz({
    port: ports.authz,
    adminPort: ports.authz + 1,
    consulAddress: consul.address,
    policyFiles: [policyFile],
    logFile: path.join(logs, 'ext-authz.log'),
    extraArgs: [`--token-listen=127.0.0.1:${tokenPort}`, `--token-keys=${path.join(work, 'token-keys')}`],
  });
  watchForCrash(authz.process);
  say(`  ext-authz     gRPC 127.0.0.1:${ports.authz}, admin ${authz.adminUrl} (policies: demo/policies.yaml), token endpoint :${tokenPort}`);

  ratelimit = await startRatelimit({
    port: ports.ratelimit,
    adminPort: ports.ratelimitAdmin,
    configPaths: [path.join(repoRoot(), 'demo', 'ratelimit.yaml')],
    consulAddress: consul.address,
    register: true,
    logFile: path.join(logs, 'ratelimit.log'),
  });
  watchForCrash(ratelimit.process);
  say(`  ratelimit     gRPC 127.0.0.1:${ports.ratelimit}, admin ${ratelimit.adminUrl} (limits: demo/ratelimit.yaml, in memory)`);

  extProc = await startExtProc({
    port: ports.extProc,
    adminPort: ports.extProc + 1,
    consulAddress: consul.address,
    // The endpoint picker reads the model pools from the xds-server below.
    extraArgs: [`--request-log-file=${path.join(logs, 'llm-requests.log')}`, `--xds=127.0.0.1:${ports.xds}`],
    logFile: path.join(logs, 'ext-proc.log'),
  });
  watchForCrash(extProc.process);
  say(`  ext-proc      gRPC 127.0.0.1:${ports.extProc}, admin ${extProc.adminUrl} (the LLM processor; request log: logs/llm-requests.log)`);

  // Traffic policy as config entries in Consul KV, one entry per key, as an operator keeps them.
  const entryDocs = YAML.parseAllDocuments(fs.readFileSync(path.join(repoRoot(), 'demo', 'config-entries.yaml'), 'utf8'));
  for (const doc of entryDocs) {
    const entry = doc.toJS() as { Kind: string; Name: string };
    await consul.api.kvPut(`${ENTRIES_PREFIX}${entry.Kind}/${entry.Name}`, doc.toString());
  }
  // The console's browser login: the provider, the client, its secrets by name.
  await consul.api.kvPut(
    `${ENTRIES_PREFIX}browser-login/operators`,
    `Kind: browser-login\nName: operators\nIssuer: ${idp.issuer}\nClientId: ${PROVIDER_CLIENTS.console.id}\nClientSecret: console-client\nHmacSecret: console-hmac\nScopes: [openid, profile, email, meshgate]\nPassThroughHeaders: [x-api-key]\n`,
  );
  say(`  config        ${entryDocs.length} entries from demo/config-entries.yaml, and the console's browser login, in Consul KV under ${ENTRIES_PREFIX}`);

  xds = await startXdsServer({
    consulAddress: consul.address,
    xdsPort: ports.xds,
    adminPort: ports.xdsAdmin,
    logFile: path.join(logs, 'xds-server.log'),
    // The model API routed by model through ext-proc; token and cost budgets per tenant
    // (demo/ratelimit.yaml), each call reserving its bound (a call without max_tokens: 256) until it ends.
    extraArgs: [
      '--ext-authz-service=ext-authz',
      '--ratelimit-service=ratelimit',
      '--ext-proc-service=ext-proc',
      '--llm-token-budgets=generic:tokens,auth:tenant',
      '--llm-cost-budgets=generic:dollars,auth:tenant',
      '--llm-budget-default-max-tokens=256',
      '--register',
      `--secrets-dir=${secretsDir}`,
      // The gateway's requests to the console, for its "recent requests".
      '--access-log-service=meshgate-console',
      ...(zookeeper ? [`--zookeeper=${zookeeper.connect}`] : []),
      ...(eureka ? [`--eureka=${eureka.url}`] : []),
    ],
  });
  watchForCrash(xds.process);
  say(`  xds-server    ADS 127.0.0.1:${ports.xds}, admin ${xds.adminUrl}`);

  for (const id of ['llm-chat-1', 'llm-chat-2']) {
    const instance = await startModelService({
      service: 'llm-chat',
      id,
      consulAddress: consul.address,
      ...registered(id),
      // /v1/ needs the llm-clients policy and is limited per API key; /test stays public and is
      // limited per client address.
      meta: {
        'gateway-path': '/v1/,/test,/partner/',
        protocol: 'http',
        'auth-policy': 'llm-clients,/test=none,/partner/=partner-apps',
        'rate-limits': '/v1/=generic:llm,auth:key_id; /test=generic:test,remote_address',
        models: 'llama-3.1-8b,shared-7b',
      },
      logFile: path.join(logs, `${id}.log`),
    });
    instances.push(instance);
    watchInstance(instance.process);
    say(`  ${id.padEnd(13)} ${instance.url} (registered in ${registryName(id)} as llm-chat)`);
  }

  // Two more model services: another provider (shared-7b's fallback, under its own name for it:
  // demo/config-entries.yaml; its calls are logged) and
  // an embeddings model. They have no gateway path of their own: the model API reaches them.
  // Two speak other dialects: every caller reaches them in its own (docs/configuration.md#model-api-dialects).
  for (const [service, models, extra] of [
    ['llm-qwen', 'qwen2.5-7b', { 'request-log': 'on' }],
    ['llm-embed', 'text-embed-small', {}],
    ['llm-claude', 'claude-sim', { 'model-dialect': 'anthropic' }],
    ['llm-ollama', 'gemma-sim', { 'model-dialect': 'ollama' }],
  ] as const) {
    const instance = await startModelService({
      service,
      id: `${service}-1`,
      consulAddress: consul.address,
      ...registered(`${service}-1`),
      meta: { 'gateway-path': 'none', models, ...extra },
      logFile: path.join(logs, `${service}-1.log`),
    });
    instances.push(instance);
    watchInstance(instance.process);
    say(`  ${`${service}-1`.padEnd(13)} ${instance.url} (serves ${models})`);
  }

  // A model pool: three simulated GPU servers (two batch slots each, a waiting queue, a prefix
  // cache, vLLM's metrics, scheduling by priority and preempting as vLLM's priority policy does)
  // serving pool-8b; the processor places each call by load and prompt prefix, writes its
  // priority, and queues calls at the gateway when all three are full of calls no worse.
  for (const id of ['llm-pool-1', 'llm-pool-2', 'llm-pool-3']) {
    const instance = await startModelService({
      service: 'llm-pool',
      id,
      consulAddress: consul.address,
      ...registered(id),
      meta: { 'gateway-path': 'none', models: 'pool-8b', 'model-scheduling': 'priority' },
      extraArgs: ['--sim', '--sim-slots=2', '--sim-decode-ms-per-token=40', '--sim-prefill-ms-per-token=1', '--sim-block-tokens=16', '--sim-scheduling-policy=priority'],
      logFile: path.join(logs, `${id}.log`),
    });
    instances.push(instance);
    watchInstance(instance.process);
    say(`  ${id.padEnd(13)} ${instance.url} (serves pool-8b: a simulated GPU server, its vLLM metrics at /metrics)`);
  }

  // A gRPC model service served as JSON at the gateway: its descriptors asked of it over gRPC
  // server reflection (meshgate.demo.v1.Inference: Embed, a Generate stream, Info), its methods
  // at /meshgate.demo.v1.Inference/<Method> and the REST paths of their annotations.
  {
    const instance = await startModelService({
      program: 'grpc-inference',
      service: 'inference',
      id: 'inference-1',
      consulAddress: consul.address,
      ...registered('inference-1'),
      meta: { protocol: 'grpc', transcode: 'on', 'auth-policy': 'llm-clients' },
      extraArgs: ['--pace-ms=200'],
      logFile: path.join(logs, 'inference-1.log'),
    });
    instances.push(instance);
    watchInstance(instance.process);
    say(`  inference-1   127.0.0.1:${instance.port} (gRPC, reflection on; JSON at the gateway)`);
  }

  // The agent: an app that calls llm-chat by name through its own sidecar Envoy.
  const [agentPort] = (await freePorts(1)) as [number];
  const agent = await startModelService({
    service: 'agent',
    id: 'agent-1',
    consulAddress: consul.address,
    ...registered('agent-1'),
    port: agentPort,
    sidecarOutbound: ports.sidecar + 1,
    // Public at the gateway under /agent/; other proxies reach it through its sidecar.
    meta: { 'gateway-path': '/agent/', 'auth-policy': 'none', 'sidecar-port': String(ports.sidecar) },
    logFile: path.join(logs, 'agent-1.log'),
  });
  instances.push(agent);
  watchInstance(agent.process);
  sidecar = await startSidecarEnvoy({
    nodeId: 'demo-agent-1-sidecar',
    service: 'agent',
    appPort: agentPort,
    inboundPort: ports.sidecar,
    outboundPort: ports.sidecar + 1,
    adminPort: ports.sidecar + 2,
    statsPort: ports.sidecar + 3,
    xds: { host: '127.0.0.1', port: ports.xds, api: 'delta' },
    workDir: work,
    logFile: path.join(logs, 'agent-1-sidecar.log'),
  });
  watchForCrash(sidecar.process);
  say(`  agent-1       ${agent.url}, its sidecar: inbound :${ports.sidecar}, outbound :${ports.sidecar + 1}, admin :${ports.sidecar + 2}`);

  envoy = await startGatewayEnvoy({
    nodeId: 'demo-gateway',
    port: ports.gateway,
    adminPort: ports.envoyAdmin,
    statsPort: ports.gatewayStats,
    xds: { host: '127.0.0.1', port: ports.xds, api: 'delta' },
    workDir: work,
    logFile: path.join(logs, 'envoy.log'),
    concurrency: 2,
    logLevel: 'info',
  });
  watchForCrash(envoy.process);
  say(`  gateway envoy http://127.0.0.1:${ports.gateway}, admin http://127.0.0.1:${ports.envoyAdmin}`);

  // Prometheus (every target found through the xds-server's view of Consul) and the console on it.
  prometheus = await startPrometheus({
    dir: work,
    port: ports.prometheus,
    config: { discovery: { kind: 'xds-server', url: xds.adminUrl }, scrapeInterval: '5s', evaluationInterval: '5s' },
    logFile: path.join(logs, 'prometheus.log'),
  });
  watchForCrash(prometheus.process);
  say(`  prometheus    ${prometheus.url} (meshgate's rules and alerts: ${path.join(work, 'prometheus')})`);
  // The console: at its own address on this machine, and through the gateway behind the login.
  consoleProc = await startConsole({
    xdsAdmin: xds.adminUrl,
    prometheus: prometheus.url,
    port: ports.console,
    consulAddress: consul.address,
    gateway: { path: '/console/', login: 'operators', authPolicy: 'console' },
    logFile: path.join(logs, 'console.log'),
  });
  watchForCrash(consoleProc.process);
  say(`  console       ${consoleProc.url}`);

  const gw = `http://127.0.0.1:${ports.gateway}`;
  await waitFor(
    'a request through the gateway to succeed',
    async () =>
      (await fetch(`${gw}/test?msg=hello`)).status === 200 &&
      ((await (await fetch(`${gw}/v1/models`, { headers: { 'x-api-key': DEMO_API_KEY } })).json()) as { data?: unknown[] }).data?.length === 8 &&
      ((await (await fetch(`${gw}/agent/call/llm-chat/test`)).json()) as { status?: number }).status === 200 &&
      // A first call of pool-8b: the processor's picker starts reading the pool when it first sees the model.
      (await fetch(`${gw}/v1/chat/completions`, { method: 'POST', headers: { 'x-api-key': DEMO_API_KEY, 'content-type': 'application/json' }, body: '{"model":"pool-8b","max_tokens":1,"messages":[{"role":"user","content":"warm up"}]}' })).status === 200,
    { timeoutMs: 30_000, intervalMs: 200 },
  );

  say(`
ready. Try:

  console ${consoleProc.url}              # services, traffic, proxies, refused config, alerts (open it in a browser)
  console http://localhost:${ports.gateway}/console/   # the same through the gateway: log in at the demo's OpenID provider as
          # alice (operator), bob (viewer: no recent requests) or carol (no role), any password; "sign out" at the top
  curl -s http://localhost:${ports.gateway}/console/api/overview -H 'x-api-key: ${OPERATOR_KEY}' | head -c 300   # a script, with the operator key
  curl -si http://localhost:${ports.gateway}/console/ | grep -i '^location'   # no session: sent to the provider (code flow with PKCE)

  curl '${gw}/test?msg=hello'                      # public: answered by llm-chat-1 or -2 (see "instance")
  # the model API (OpenAI's), routed by the body's model; API keys in x-api-key or as Bearer:
  curl ${gw}/v1/models -H 'authorization: Bearer ${DEMO_API_KEY}'   # llama-3.1-8b, qwen2.5-7b, shared-7b, text-embed-small, claude-sim, gemma-sim, pool-8b, chat-default
  curl ${gw}/v1/chat/completions -H 'authorization: Bearer ${DEMO_API_KEY}' -H 'content-type: application/json' \
       -d '{"model":"qwen2.5-7b","messages":[{"role":"user","content":"hello mesh"}]}'      # answered by llm-qwen-1 (x-meshgate-service)
  curl -N ${gw}/v1/chat/completions -H 'x-api-key: ${DEMO_API_KEY}' -H 'content-type: application/json' -H 'x-demo-pace-ms: 300' \
       -d '{"model":"llama-3.1-8b","stream":true,"messages":[{"role":"user","content":"stream this to me"}]}'   # chunk by chunk
  curl ${gw}/v1/embeddings -H 'x-api-key: ${DEMO_API_KEY}' -H 'content-type: application/json' -d '{"model":"text-embed-small","input":"hi"}'
  curl ${gw}/v1/chat/completions -H 'x-api-key: ${DEMO_API_KEY}' -H 'content-type: application/json' \
       -d '{"model":"chat-default","messages":[{"role":"user","content":"x"}]}'              # the alias: llama 3 in 4, qwen 1 in 4
  curl ${gw}/v1/chat/completions -H 'x-api-key: ${DEMO_API_KEY}' -H 'content-type: application/json' -d '{"model":"gpt-9","messages":[]}'  # 404 naming the models
  curl -X PUT '${instances[0]!.url}/_demo/fail?status=429'; curl -X PUT '${instances[1]!.url}/_demo/fail?status=429'   # llm-chat says 429 …
  curl -s ${gw}/v1/chat/completions -H 'x-api-key: ${DEMO_API_KEY}' -H 'content-type: application/json' \
       -d '{"model":"shared-7b","messages":[{"role":"user","content":"x"}]}' | grep -o '"model":"[^"]*"\|"system_fingerprint":"[^"]*"'   # … llm-qwen-1 answers, asked for qwen/shared-7b-instruct
  curl -X PUT '${instances[0]!.url}/_demo/fail'; curl -X PUT '${instances[1]!.url}/_demo/fail'
  cat ${path.join(logs, 'llm-requests.log')}      # what llm-qwen was asked and answered, secrets redacted
  curl -s ${extProc.adminUrl}/metrics | grep gen_ai_client_token_usage_sum   # tokens by model, service, tenant

 every client dialect to every model service (llm-claude speaks Anthropic's API, llm-ollama Ollama's; docs/configuration.md#model-api-dialects):
  curl ${gw}/v1/messages -H 'x-api-key: ${DEMO_API_KEY}' -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \
       -d '{"model":"llama-3.1-8b","max_tokens":100,"messages":[{"role":"user","content":"hello from the Messages API"}]}'   # Anthropic's shape, from an OpenAI-style service
  curl -N ${gw}/v1/messages -H 'x-api-key: ${DEMO_API_KEY}' -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' -H 'x-demo-pace-ms: 300' \
       -d '{"model":"gemma-sim","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"stream from Ollama"}]}'   # Ollama's lines as Anthropic's events
  curl ${gw}/v1/chat/completions -H 'x-api-key: ${DEMO_API_KEY}' -H 'content-type: application/json' \
       -d '{"model":"claude-sim","messages":[{"role":"user","content":"hello from Chat Completions"}]}'   # OpenAI's shape, from an Anthropic-style service
  curl ${gw}/v1/responses -H 'x-api-key: ${DEMO_API_KEY}' -H 'content-type: application/json' \
       -d '{"model":"claude-sim","input":"hello from the Responses API"}'   # the Responses API, stateless
  curl ${gw}/v1/messages/count_tokens -H 'x-api-key: ${DEMO_API_KEY}' -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \
       -d '{"model":"qwen2.5-7b","messages":[{"role":"user","content":"how many tokens is this"}]}'
  curl ${gw}/v1/chat/completions -H 'x-api-key: ${DEMO_API_KEY}' -H 'content-type: application/json' \
       -d '{"model":"claude-sim","n":2,"messages":[{"role":"user","content":"x"}]}'   # 400: \`n\` cannot be translated for a service that speaks the anthropic API
  #   the official SDKs, unchanged (npm i @anthropic-ai/sdk openai):
  #   new Anthropic({ baseURL: '${gw}', apiKey: '${DEMO_API_KEY}' }).messages.create({ model: 'gemma-sim', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
  #   new OpenAI({ baseURL: '${gw}/v1', apiKey: '${DEMO_API_KEY}' }).responses.create({ model: 'llama-3.1-8b', input: 'hi' })

 a model pool (pool-8b: three simulated GPU servers; docs/configuration.md#model-pools):
  # a conversation's turns stay on one instance, which finds its prefix cached:
  H='-H x-api-key:${DEMO_API_KEY} -H content-type:application/json'; SYS='You are the demo assistant. Answer briefly and cite the facts you were given, nothing else, in plain words.'
  curl -s ${gw}/v1/chat/completions $H -d '{"model":"pool-8b","messages":[{"role":"system","content":"'"$SYS $SYS $SYS"'"},{"role":"user","content":"first question"}]}' | grep -o '"system_fingerprint":"[^"]*"'
  curl -s ${gw}/v1/chat/completions $H -d '{"model":"pool-8b","messages":[{"role":"system","content":"'"$SYS $SYS $SYS"'"},{"role":"user","content":"first question"},{"role":"assistant","content":"You said: first question"},{"role":"user","content":"and a second"}]}' | grep -o '"system_fingerprint":"[^"]*"\\|"cached_tokens":[0-9]*'   # the same instance, most of the prompt cached
  curl -s ${extProc.adminUrl}/metrics | grep endpoint_picks_total   # placed by prefix, by load, or left to Envoy
  # team-b's batch job fills the pool: its calls wait at the gateway (fairly), or, marked sheddable, are refused at once;
  # team-a's calls meanwhile are still served, taking a batch call's slot (the servers preempt by priority;
  # open the console: "Model pools under saturation"):
  for i in $(seq 40); do curl -s -o /dev/null -w '%{http_code} ' ${gw}/v1/chat/completions -H 'x-api-key: ${BATCH_API_KEY}' -H 'x-meshgate-priority: sheddable' -H 'content-type: application/json' \
       -d '{"model":"pool-8b","messages":[{"role":"user","content":"batch job '$i' with a long enough answer to keep a slot busy for a while"}]}' & done; sleep 0.3
  curl -s -w ' %{http_code} in %{time_total}s\\n' ${gw}/v1/chat/completions $H -d '{"model":"pool-8b","messages":[{"role":"user","content":"am I still served"}]}' | tail -c 120; wait; echo
  curl -s ${extProc.adminUrl}/metrics | grep -E 'meshgate_llm_queue_(refused_total|length)|endpoint_picks_total\\{reason="preempt"'
  curl -s ${instances.find((i) => i.id === 'llm-pool-1')?.url ?? ''}/metrics | grep vllm:num_preemptions_total   # what a server preempted for better calls

 gRPC as JSON (inference is a gRPC service; the gateway found its methods over reflection):
  curl ${gw}/v1/inference/embed -H 'x-api-key: ${DEMO_API_KEY}' -d '{"model":"m","input":["hello world"]}'
  curl ${gw}/meshgate.demo.v1.Inference/Embed -H 'x-api-key: ${DEMO_API_KEY}' -d '{"model":"m","input":["hi"]}'   # the gRPC path, as JSON
  curl -N ${gw}/v1/inference/generate -H 'x-api-key: ${DEMO_API_KEY}' -d '{"prompt":"one two three"}'   # a server stream: one JSON per line
  curl -i ${gw}/v1/inference/generate -H 'x-api-key: ${DEMO_API_KEY}' -d '{"prompt":"x","fail_with":8}'   # RESOURCE_EXHAUSTED → 429 JSON
  curl -i ${gw}/meshgate.demo.v1.Inference/Nope -H 'x-api-key: ${DEMO_API_KEY}' -d '{}'   # unknown method → 404 JSON
  curl -s ${xds.adminUrl}/debug/mesh | node -pe 'JSON.stringify(JSON.parse(require("fs").readFileSync(0)).descriptors, null, 1)'   # where its descriptors came from

  # the official openai SDK, unchanged (npm i openai):
  #   const client = new OpenAI({ baseURL: '${gw}/v1', apiKey: '${DEMO_API_KEY}' });
  #   console.log((await client.chat.completions.create({ model: 'chat-default', messages: [{ role: 'user', content: 'hi' }] })).choices[0].message);

  # meshgate's own OAuth tokens (token endpoint through the gateway; ext-authz/README.md#tokens-of-meshgates-own):
  TOKEN=$(curl -s -u demo-job:demo-job-secret-5Rt8 -d grant_type=client_credentials -d scope=chat ${gw}/oauth/token | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  curl ${gw}/v1/chat/completions -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"model":"llama-3.1-8b","messages":[{"role":"user","content":"hi with a token"}]}'
  curl -s ${gw}/oauth/token -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange -d subject_token=${DEMO_API_KEY} \
       -d subject_token_type=urn:meshgate:params:oauth:token-type:api_key   # the API key exchanged for a 15-minute token
  curl ${gw}/.well-known/jwks.json                 # the keys that sign them (node dist/ext-authz/token-keys.js rotate ${path.join(work, 'token-keys')})
  # an opaque token from the company's OpenID provider, checked by introspection (RFC 7662) at /partner/:
  OPAQUE=$(curl -s -u app:${PROVIDER_CLIENTS.app.secret} -d grant_type=client_credentials -d scope=models:read ${idp.issuer}/token | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  curl -s ${gw}/partner/hello -H "authorization: Bearer $OPAQUE" | grep -o '"x-auth-[a-z]*":"[^"]*"'   # who ext-authz says the caller is (app, tenant acme)
  curl -i ${gw}/v1/chat/completions               # rejected: 401 as JSON, with WWW-Authenticate
  curl -i ${gw}/v1/embeddings -H 'x-api-key: wrong'   # rejected: the API key is not valid
  curl ${gw}/nowhere                               # 404 as JSON from the gateway
  curl ${authz.adminUrl}/status              # policies in force; edit demo/policies.yaml and look again

  # rate limits (demo/ratelimit.yaml): /test 10 per minute per client address, the model API 30
  # calls a minute per API key, and 1000 tokens a minute per tenant: each call reserves its body's
  # bytes plus its max_tokens (600 here) before it goes and gives back what it did not use (it
  # uses about 42), so no number of calls at once can spend past the budget — the 6th is refused
  # (a 429 as JSON, with X-RateLimit-* and Retry-After headers), though most of the budget is left:
  for i in $(seq 11); do curl -s -o /dev/null -w '%{http_code} ' ${gw}/test; done; echo
  for i in $(seq 8); do curl -s -o /dev/null -w '%{http_code} ' ${gw}/v1/chat/completions -H 'x-api-key: ${DEMO_API_KEY}' -H 'content-type: application/json' \
       -d '{"model":"llama-3.1-8b","max_tokens":600,"messages":[{"role":"user","content":"count these twenty words please one two three four five six seven eight nine ten eleven twelve thirteen fourteen"}]}'; done; echo
  # what each call cost at its model's price (demo/config-entries.yaml), by tenant, and in the access log:
  curl -s ${extProc.adminUrl}/metrics | grep meshgate_llm_cost_total
  curl ${ratelimit.adminUrl}/rlconfig              # the limits in force
  curl ${xds.adminUrl}/debug/proxies              # which proxy has which config version
  curl ${xds.adminUrl}/metrics
  curl http://127.0.0.1:${ports.envoyAdmin}/config_dump   # everything Envoy got over ADS
  curl -s http://127.0.0.1:${ports.gatewayStats}/stats/prometheus | grep upstream_rq_total   # the gateway's stats, without its admin
  curl -s '${prometheus.url}/api/v1/query?query=service:meshgate_requests:rate1m'   # requests/s per service, recorded
  curl -s ${prometheus.url}/api/v1/alerts          # meshgate's alerts (rules: ${path.join(work, 'prometheus', 'meshgate-rules.yml')})

  # take one instance out in Consul, then watch requests go to the other one only:
  curl -X PUT '${instances[0]!.url}/_demo/health?healthy=false'

  # the mesh: gateway → agent-1's sidecar → agent-1 → its sidecar → llm-chat, by name
  curl '${gw}/agent/call/llm-chat/test?msg=through-two-sidecars'
  # kill an llm-chat instance mid-traffic: GETs in flight on it are retried on the other one
  for i in $(seq 200); do curl -s -o /dev/null -w '%{http_code} ' ${gw}/agent/call/llm-chat/test; done & sleep 1; kill -9 ${instances[1]!.process.pid}; wait; echo
  # an llm-chat instance that answers 503 while Consul still calls it healthy: GETs are retried
  # elsewhere (service-router), and after 3 in a row it is ejected (service-defaults)
  curl -X PUT '${instances[1]!.url}/_demo/fail?status=503'
  for i in $(seq 6); do curl -s ${gw}/agent/call/llm-chat/test | grep -o '"instance":"[^"]*"'; done

  # operators: who has what, which path goes where, and config entries checked offline
  npm run --silent meshgate -- instances --xds-admin ${xds.adminUrl}   # every instance and the registry it came from${registryLines()}
  npm run --silent meshgate -- proxy-status --xds-admin ${xds.adminUrl}
  npm run --silent meshgate -- routes --xds-admin ${xds.adminUrl}
  npm run --silent meshgate -- config-dump demo-agent-1-sidecar --type cluster --xds-admin ${xds.adminUrl}
  npm run --silent meshgate -- validate demo/config-entries.yaml
  curl ${xds.adminUrl}/debug/config-entries         # entries in force, and any refused with the reason

Ctrl-C stops everything.`);
}

/** What to try in a mode with ZooKeeper or Eureka. */
function registryLines(): string {
  const lines: string[] = [`  curl ${xds!.adminUrl}/debug/registries          # each registry read: up, synced, how much it holds`];
  const chat2 = instances.find((i) => i.id === 'llm-chat-2')!;
  if (zookeeper) {
    lines.push(
      `  # ${registryName('llm-chat-2')} holds llm-chat-2; pause it past its 10 s session: ZooKeeper drops its node, the gateway stops sending to it; resume: it registers again`,
      `  kill -STOP ${chat2.process.pid}; sleep 14; npm run --silent meshgate -- instances llm-chat --xds-admin ${xds!.adminUrl}; kill -CONT ${chat2.process.pid}`,
    );
  }
  if (eureka) lines.push(`  curl -s -H 'accept: application/json' ${eureka.url}/apps | head -c 600; echo   # Eureka's own view`);
  if (zookeeper || eureka) lines.push(`  curl -X PUT '${chat2.url}/_demo/meta?zone=eu-west-1'   # a metadata change in its registry reaches the mesh (npm run meshgate -- resolved llm-chat)`);
  return `\n${lines.join('\n')}`;
}

main().catch(async (err) => {
  say(`demo failed: ${(err as Error).message}`);
  await shutdown(1);
});
