// xds-server settings from the command line, then the environment, then defaults.
import { parseArgs } from 'node:util';
import { PROXY_METRICS_SERVICE } from '../shared/consul/metrics-meta.js';
import { hostPort, isPort } from '../shared/host-port.js';
import { DEFAULT_IDENTITY_HEADERS } from '../shared/identity-headers.js';
import { durationFlag } from '../shared/validate/duration.js';
import { checkHeaderName, isPolicyName, isServiceName, POLICY_NAME_HINT } from '../shared/validate/names.js';
import { positiveInteger } from '../shared/validate/positive-integer.js';
import { DEFAULT_ACCEPT_BACKLOG } from './server/ads-server.js';
import { DEFAULT_DESCRIPTOR_PREFIX } from './sources/descriptor-source.js';
import { orThrow, within } from '../shared/validate/result.js';
import { REGISTRIES, type RateLimitDescriptor, type RegistryName } from './model/mesh.js';
import { DEFAULT_REGISTRY_LIMITS, type RegistryLimits } from './sources/registry-limits.js';
import { parseDescriptors } from './model/rate-limit-meta.js';
import { DEFAULT_BUDGET_MAX_TOKENS } from './resolve/gateway-settings.js';

export interface XdsServerConfig {
  readonly consul: { host: string; port: number; token?: string };
  readonly xdsHost: string;
  readonly xdsPort: number;
  /** Connections the kernel holds before the server accepts them (a fleet reconnecting). */
  readonly xdsAcceptBacklog: number;
  readonly adminHost: string;
  readonly adminPort: number;
  readonly gatewayAddress: string;
  readonly gatewayPort: number;
  readonly debounceQuietMs: number;
  readonly debounceMaxMs: number;
  readonly consulWaitMs: number;
  readonly retainVanishedMs: number;
  readonly identityHeaders: readonly string[];
  readonly authz: { service: string; timeoutMs: number; defaultPolicy: string } | undefined;
  readonly ratelimit: { service: string; domain: string; timeoutMs: number; failClosed: boolean } | undefined;
  readonly llm:
    | {
        service: string;
        timeoutMs: number;
        maxRequestBytes: number;
        tokenBudgets: readonly RateLimitDescriptor[];
        costBudgets: readonly RateLimitDescriptor[];
        budgetDefaultMaxTokens: number;
        budgetsFailOpen: boolean;
        modelRequestLimits: readonly RateLimitDescriptor[];
      }
    | undefined;
  /** Consul KV prefix holding config entries ('' for none). */
  readonly configEntriesPrefix: string;
  readonly configEntryFiles: readonly string[];
  /** Consul KV prefix of descriptor sets for transcoded services without reflection ('' for none). */
  readonly descriptorsPrefix: string;
  /** How often a transcoded service is asked for its descriptors again though nothing changed. */
  readonly descriptorRefreshMs: number;
  /** The browser logins' secrets, a file each (undefined: none; a login naming one is closed). */
  readonly secretsDir: string | undefined;
  readonly secretsIntervalMs: number;
  /** How often an OpenID provider's discovery document is read again. */
  readonly oidcRefreshMs: number;
  /** The Consul service every proxy with a stats endpoint is registered as; undefined: none are. */
  readonly proxyMetricsService: string | undefined;
  /** Register the xds-server itself in Consul (its metrics meta, a check on its /readyz). */
  readonly register: boolean;
  /** The gRPC access-log service (Consul name) the gateway also sends its access log to. */
  readonly accessLogService: string | undefined;
  /** The registries read, in precedence order (sources/registry-merge.ts). */
  readonly registries: readonly RegistryName[];
  readonly zookeeper: { connect: string; basePath: string; digestAuth?: string; sessionTimeoutMs: number } | undefined;
  readonly eureka: { url: string; intervalMs: number; timeoutMs: number } | undefined;
  readonly registryLimits: RegistryLimits;
}

export const USAGE = `xds-server: Consul → Envoy over xDS (ADS)

  --consul HOST:PORT         Consul HTTP API           [$CONSUL_HTTP_ADDR, 127.0.0.1:8500]
  --xds HOST:PORT            ADS gRPC listen address   [$MESHGATE_XDS_ADDR, 127.0.0.1:18000]
  --xds-accept-backlog N     connections waiting to be accepted (capped by net.core.somaxconn) [4096]
  --admin HOST:PORT          admin HTTP listen address [$MESHGATE_XDS_ADMIN_ADDR, 127.0.0.1:18001]
  --gateway-address ADDR     default gateway listener address [0.0.0.0]
  --gateway-port PORT        default gateway listener port    [8080]
  --debounce DURATION        quiet time that ends a burst of changes [20ms]
  --debounce-max DURATION    longest a change waits for a burst to end [50ms]
  --consul-wait DURATION     blocking query wait time [30s]
  --retain-vanished DURATION how long a service with no instances keeps its route [10m]
  --identity-headers LIST    headers only ext-authz may set; client copies are stripped
                             [${Object.values(DEFAULT_IDENTITY_HEADERS).join(',')}]
  --ext-authz-service NAME   put ext-authz (this Consul service) in front of every route
  --ext-authz-timeout DUR    how long the gateway waits for ext-authz [1s]
  --auth-default-policy NAME policy for routes whose service names none [default]
  --ratelimit-service NAME   ask this rate-limit service (Consul name) on routes with rate-limits
  --ratelimit-domain NAME    the domain the gateway asks in [meshgate]
  --ratelimit-timeout DUR    how long the gateway waits for an answer [100ms]
  --ratelimit-fail-closed    refuse requests when it cannot ask (default: let them through)
  --ext-proc-service NAME    route the model API by model through this LLM processor (Consul name)
  --ext-proc-timeout DUR     how long the gateway waits for each of its answers [2s]
  --llm-max-request-bytes N  the model API's request body limit (413 past it) [2097152]
  --llm-token-budgets LIST   token budget descriptors, ";"-separated, each ENTRY,… as in the
                             rate-limits meta plus "model" (needs --ratelimit-service): each
                             call reserves its bound before it goes, settles what it used after
  --llm-cost-budgets LIST    cost budget descriptors, the same way, in micro-units of the
                             currency of the model-route Prices (1000000 = 1 unit)
  --llm-budget-default-max-tokens N
                             what a call without max_tokens reserves for its answer [4096]
  --llm-budgets-fail-open    let a budgeted call through, unreserved and never charged, when its
                             reservation cannot be made (default: refused, 503)
  --llm-request-limits LIST  request-count descriptors counted once the model is known (the
                             same vocabulary: per model, per tenant and model, …)
  --config-entries-prefix P  Consul KV prefix of config entries ("" for none) [meshgate/config/]
  --config-entries PATH      config entries from a file or directory too (repeatable; polled)
  --descriptors-prefix P     Consul KV prefix of descriptor sets (base64 FileDescriptorSet, one
                             key per service) for transcoded services without reflection ("" for
                             none) [meshgate/descriptors/]
  --descriptor-refresh D     ask transcoded services for their descriptors again this often, even
                             when their registration did not change [5m]
  --secrets-dir DIR          the browser logins' client and HMAC secrets, a file each (the
                             name an entry gives it); sent to Envoy over SDS only [none]
  --secrets-interval D       how often the secrets directory is read again [2s]
  --oidc-refresh D           how often an OpenID provider's discovery document is read again [10m]
  --proxy-metrics-service N  register every connected proxy with a stats endpoint (node metadata
                             stats_port) in Consul as this service, for Prometheus ("none": not)
                             [meshgate-envoy]
  --register                 register the xds-server itself in Consul as xds-server (metrics meta)
  --access-log-service NAME  also send the gateway's access log to this gRPC access-log service
                             (Consul name; the console's, meshgate-console)

Registries (services are read from Consul's catalog, and from these too; docs/registries.md):
  --zookeeper CONNECT        read ZooKeeper: host:port[,host:port…][/chroot]  [$MESHGATE_ZOOKEEPER]
  --zookeeper-base-path P    where services are registered (Curator's layout) [/services]
  --zookeeper-auth U:P       digest credentials [$MESHGATE_ZOOKEEPER_AUTH]
  --zookeeper-session-timeout DURATION                                       [30s]
  --eureka URL[,URL…]        read a Eureka server's REST API, e.g. http://user:pass@host:8761/eureka;
                             several are tried in turn [$MESHGATE_EUREKA_URL]
  --eureka-interval DURATION how often its delta is fetched                  [2s]
  --registries LIST          the order that decides when registries disagree about a service
                             (its settings, a shared address:port)  [consul,zookeeper,eureka]
  --registry-max-services N  services read from one registry                [${DEFAULT_REGISTRY_LIMITS.maxServices}]
  --registry-max-instances N instances read per service                     [${DEFAULT_REGISTRY_LIMITS.maxInstancesPerService}]
  --registry-max-bytes N     bytes of one Eureka answer                     [${DEFAULT_REGISTRY_LIMITS.maxFetchBytes}]
`;

/** The registries read and their order: consul always (meshgate's own components register there). */
export function registryOrder(flag: string | undefined, configured: ReadonlySet<RegistryName>): RegistryName[] {
  if (flag === undefined) return REGISTRIES.filter((r) => configured.has(r));
  const order = flag.split(',').map((r) => r.trim()).filter(Boolean);
  for (const r of order) {
    if (!(REGISTRIES as readonly string[]).includes(r)) throw new Error(`--registries: ${JSON.stringify(r)} is not one of ${REGISTRIES.join(', ')}`);
    if (!configured.has(r as RegistryName)) throw new Error(`--registries: ${r} is listed but not configured (--${r})`);
  }
  if (new Set(order).size !== order.length) throw new Error('--registries: a registry is listed twice');
  for (const r of configured) if (!order.includes(r)) throw new Error(`--registries: ${r} is read but not listed`);
  return order as RegistryName[];
}


const duration = durationFlag;

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): XdsServerConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      consul: { type: 'string' },
      xds: { type: 'string' },
      admin: { type: 'string' },
      'gateway-address': { type: 'string' },
      'gateway-port': { type: 'string' },
      debounce: { type: 'string' },
      'debounce-max': { type: 'string' },
      'consul-wait': { type: 'string' },
      'xds-accept-backlog': { type: 'string' },
      'retain-vanished': { type: 'string' },
      'identity-headers': { type: 'string' },
      'ext-authz-service': { type: 'string' },
      'ext-authz-timeout': { type: 'string' },
      'ext-proc-service': { type: 'string' },
      'ext-proc-timeout': { type: 'string' },
      'llm-max-request-bytes': { type: 'string' },
      'llm-token-budgets': { type: 'string' },
      'llm-cost-budgets': { type: 'string' },
      'llm-budget-default-max-tokens': { type: 'string' },
      'llm-budgets-fail-open': { type: 'boolean' },
      'llm-request-limits': { type: 'string' },
      'auth-default-policy': { type: 'string' },
      'ratelimit-service': { type: 'string' },
      'ratelimit-domain': { type: 'string' },
      'ratelimit-timeout': { type: 'string' },
      'ratelimit-fail-closed': { type: 'boolean' },
      'config-entries-prefix': { type: 'string' },
      'config-entries': { type: 'string', multiple: true },
      'descriptors-prefix': { type: 'string' },
      'descriptor-refresh': { type: 'string' },
      'secrets-dir': { type: 'string' },
      'secrets-interval': { type: 'string' },
      'oidc-refresh': { type: 'string' },
      'proxy-metrics-service': { type: 'string' },
      register: { type: 'boolean' },
      'access-log-service': { type: 'string' },
      zookeeper: { type: 'string' },
      'zookeeper-base-path': { type: 'string' },
      'zookeeper-auth': { type: 'string' },
      'zookeeper-session-timeout': { type: 'string' },
      eureka: { type: 'string' },
      'eureka-interval': { type: 'string' },
      registries: { type: 'string' },
      'registry-max-services': { type: 'string' },
      'registry-max-instances': { type: 'string' },
      'registry-max-bytes': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const consul = hostPort(values.consul ?? env['CONSUL_HTTP_ADDR'] ?? '127.0.0.1:8500', '--consul');
  const xds = hostPort(values.xds ?? env['MESHGATE_XDS_ADDR'] ?? '127.0.0.1:18000', '--xds');
  const admin = hostPort(values.admin ?? env['MESHGATE_XDS_ADMIN_ADDR'] ?? '127.0.0.1:18001', '--admin');
  const gatewayPort = Number(values['gateway-port'] ?? '8080');
  if (!isPort(gatewayPort)) throw new Error('--gateway-port: not a port');
  const debounceQuietMs = duration(values.debounce ?? '20ms', '--debounce');
  const debounceMaxMs = duration(values['debounce-max'] ?? '50ms', '--debounce-max');
  if (debounceQuietMs > debounceMaxMs) throw new Error('--debounce must not exceed --debounce-max');
  const token = env['CONSUL_HTTP_TOKEN'];
  const identityHeaders = (values['identity-headers'] ?? Object.values(DEFAULT_IDENTITY_HEADERS).join(','))
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  for (const h of identityHeaders) orThrow(checkHeaderName('--identity-headers', h));
  const authzService = values['ext-authz-service'];
  const defaultPolicy = values['auth-default-policy'] ?? 'default';
  if (!isPolicyName(defaultPolicy)) throw new Error(`--auth-default-policy: ${JSON.stringify(defaultPolicy)} is not ${POLICY_NAME_HINT}`);
  const authz = authzService
    ? { service: authzService, timeoutMs: duration(values['ext-authz-timeout'] ?? '1s', '--ext-authz-timeout'), defaultPolicy }
    : undefined;
  const rlService = values['ratelimit-service'];
  const ratelimit = rlService
    ? {
        service: rlService,
        domain: values['ratelimit-domain'] ?? 'meshgate',
        timeoutMs: duration(values['ratelimit-timeout'] ?? '100ms', '--ratelimit-timeout'),
        failClosed: values['ratelimit-fail-closed'] ?? false,
      }
    : undefined;
  const llmService = values['ext-proc-service'];
  const llm = llmService
    ? {
        service: llmService,
        timeoutMs: duration(values['ext-proc-timeout'] ?? '2s', '--ext-proc-timeout'),
        maxRequestBytes: positiveInteger(values['llm-max-request-bytes'], '--llm-max-request-bytes', 2 * 1024 * 1024),
        tokenBudgets: orThrow(within('--llm-token-budgets', parseDescriptors(values['llm-token-budgets'] ?? '', new Set(identityHeaders)))),
        costBudgets: orThrow(within('--llm-cost-budgets', parseDescriptors(values['llm-cost-budgets'] ?? '', new Set(identityHeaders)))),
        budgetDefaultMaxTokens: positiveInteger(values['llm-budget-default-max-tokens'], '--llm-budget-default-max-tokens', DEFAULT_BUDGET_MAX_TOKENS),
        budgetsFailOpen: values['llm-budgets-fail-open'] ?? false,
        modelRequestLimits: orThrow(within('--llm-request-limits', parseDescriptors(values['llm-request-limits'] ?? '', new Set(identityHeaders)))),
      }
    : undefined;
  const proxyMetricsService = values['proxy-metrics-service'] ?? PROXY_METRICS_SERVICE;
  if (values['access-log-service'] !== undefined && !isServiceName(values['access-log-service'])) throw new Error(`--access-log-service: ${JSON.stringify(values['access-log-service'])} is not a service name`);
  if (proxyMetricsService !== 'none' && !isServiceName(proxyMetricsService)) throw new Error(`--proxy-metrics-service: ${JSON.stringify(proxyMetricsService)} is not a service name`);
  if ((llm?.tokenBudgets.length || llm?.costBudgets.length || llm?.modelRequestLimits.length) && !ratelimit) {
    throw new Error('--llm-token-budgets, --llm-cost-budgets and --llm-request-limits need --ratelimit-service (they are counted there)');
  }
  const zkConnect = values.zookeeper ?? env['MESHGATE_ZOOKEEPER'];
  const zkAuth = values['zookeeper-auth'] ?? env['MESHGATE_ZOOKEEPER_AUTH'];
  if (zkAuth !== undefined && !/^[^:]+:.+$/.test(zkAuth)) throw new Error('--zookeeper-auth: USER:PASSWORD expected');
  const basePath = values['zookeeper-base-path'] ?? '/services';
  if (!/^\/[^\s]*[^/\s]$/.test(basePath)) throw new Error(`--zookeeper-base-path: ${JSON.stringify(basePath)} is not a ZooKeeper path ("/services")`);
  const zookeeper = zkConnect
    ? {
        connect: zkConnect,
        basePath,
        ...(zkAuth ? { digestAuth: zkAuth } : {}),
        sessionTimeoutMs: duration(values['zookeeper-session-timeout'] ?? '30s', '--zookeeper-session-timeout'),
      }
    : undefined;
  const eurekaUrl = values.eureka ?? env['MESHGATE_EUREKA_URL'];
  for (const u of eurekaUrl?.split(',').map((x) => x.trim()) ?? []) if (!/^https?:\/\/[^/]+/.test(u)) throw new Error(`--eureka: ${JSON.stringify(u)} is not an http(s) URL`);
  const eurekaIntervalMs = duration(values['eureka-interval'] ?? '2s', '--eureka-interval');
  const eureka = eurekaUrl ? { url: eurekaUrl, intervalMs: eurekaIntervalMs, timeoutMs: Math.max(5_000, eurekaIntervalMs) } : undefined;
  const configured = new Set<RegistryName>(['consul', ...(zookeeper ? (['zookeeper'] as const) : []), ...(eureka ? (['eureka'] as const) : [])]);
  return {
    registries: registryOrder(values.registries, configured),
    zookeeper,
    eureka,
    registryLimits: {
      maxServices: positiveInteger(values['registry-max-services'], '--registry-max-services', DEFAULT_REGISTRY_LIMITS.maxServices),
      maxInstancesPerService: positiveInteger(values['registry-max-instances'], '--registry-max-instances', DEFAULT_REGISTRY_LIMITS.maxInstancesPerService),
      maxEntryBytes: DEFAULT_REGISTRY_LIMITS.maxEntryBytes,
      maxFetchBytes: positiveInteger(values['registry-max-bytes'], '--registry-max-bytes', DEFAULT_REGISTRY_LIMITS.maxFetchBytes),
    },
    consul: { ...consul, ...(token ? { token } : {}) },
    xdsHost: xds.host,
    xdsPort: xds.port,
    xdsAcceptBacklog: positiveInteger(values['xds-accept-backlog'], '--xds-accept-backlog', DEFAULT_ACCEPT_BACKLOG),
    adminHost: admin.host,
    adminPort: admin.port,
    gatewayAddress: values['gateway-address'] ?? '0.0.0.0',
    gatewayPort,
    debounceQuietMs,
    debounceMaxMs,
    consulWaitMs: duration(values['consul-wait'] ?? '30s', '--consul-wait'),
    retainVanishedMs: duration(values['retain-vanished'] ?? '10m', '--retain-vanished'),
    identityHeaders,
    authz,
    ratelimit,
    llm,
    configEntriesPrefix: values['config-entries-prefix'] ?? 'meshgate/config/',
    configEntryFiles: values['config-entries'] ?? [],
    descriptorsPrefix: values['descriptors-prefix'] ?? DEFAULT_DESCRIPTOR_PREFIX,
    descriptorRefreshMs: values['descriptor-refresh'] ? duration(values['descriptor-refresh'], '--descriptor-refresh') : 300_000,
    secretsDir: values['secrets-dir'],
    secretsIntervalMs: duration(values['secrets-interval'] ?? '2s', '--secrets-interval'),
    oidcRefreshMs: duration(values['oidc-refresh'] ?? '10m', '--oidc-refresh'),
    proxyMetricsService: proxyMetricsService === 'none' ? undefined : proxyMetricsService,
    register: values.register ?? false,
    accessLogService: values['access-log-service'],
  };
}
