// ratelimit-service settings from the command line, then the environment, then defaults.
import { parseArgs } from 'node:util';
import { COMPONENT_OPTIONS, componentConfig, type ComponentConfig } from '../shared/component-config.js';

export interface RatelimitConfig extends ComponentConfig {
  readonly configPaths: readonly string[];
  readonly backend: 'memory' | 'redis';
  readonly redis: { url: string; cluster: boolean; timeoutMs: number; password?: string };
  readonly failureMode: 'open' | 'closed';
  readonly keyPrefix: string;
  readonly nearLimitRatio: number;
  readonly expiryJitterSeconds: number;
  readonly globalShadowMode: boolean;
  readonly circuit: { failureThreshold: number; openMs: number; maxOpenMs: number };
}

export const USAGE = `ratelimit-service: Envoy global rate limiting (envoyproxy/ratelimit configuration)

  --listen HOST:PORT         gRPC listen address [$MESHGATE_RATELIMIT_ADDR, 127.0.0.1:8081]
  --admin HOST:PORT          admin HTTP (/healthz /readyz /metrics /rlconfig) [127.0.0.1:6070]
  --config PATH              a config file or a directory of them (repeatable); polled
  --consul HOST:PORT         Consul HTTP API [$CONSUL_HTTP_ADDR]
  --consul-prefix PREFIX     watch config documents under this KV prefix (e.g. meshgate/ratelimit/)
  --register                 register in Consul as --service-name
  --service-name NAME        [ratelimit]
  --service-id ID            [<service-name>-<port>]
  --advertise ADDR           address to register (else the listen host)
  --backend memory|redis     where counters live [memory]
  --redis HOST:PORT[,…]      Redis (several seed nodes with --redis-cluster) [$REDIS_URL, 127.0.0.1:6379]
  --redis-cluster            Redis Cluster
  --redis-timeout DURATION   per-request Redis timeout [50ms]  ($REDIS_AUTH: password)
  --failure-mode open|closed what to answer when Redis cannot count [open]
  --key-prefix PREFIX        prefix of every counter key [$CACHE_KEY_PREFIX, none]
  --near-limit-ratio R       near_limit threshold [$NEAR_LIMIT_RATIO, 0.8]
  --expiry-jitter DURATION   up to this much is added to counter expiry [60s]
  --shadow-mode              answer OK to everything, still counting [$SHADOW_MODE]
  --circuit-failures N       Redis failures in a row (per node) that open its circuit [3]
  --circuit-open DURATION    how long the circuit stays open first (doubles up to 10x) [500ms]
`;

function ms(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim());
  if (!m) throw new Error(`${what}: ${JSON.stringify(text)} is not a duration like 50ms, 1s or 2m`);
  return Math.round(Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[m[2] as 'ms' | 's' | 'm']);
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): RatelimitConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...COMPONENT_OPTIONS,
      config: { type: 'string', multiple: true },
      backend: { type: 'string' },
      redis: { type: 'string' },
      'redis-cluster': { type: 'boolean' },
      'redis-timeout': { type: 'string' },
      'failure-mode': { type: 'string' },
      'key-prefix': { type: 'string' },
      'near-limit-ratio': { type: 'string' },
      'expiry-jitter': { type: 'string' },
      'shadow-mode': { type: 'boolean' },
      'circuit-failures': { type: 'string' },
      'circuit-open': { type: 'string' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const component = componentConfig(values, env, { listenEnv: 'MESHGATE_RATELIMIT_ADDR', listen: '127.0.0.1:8081', admin: '127.0.0.1:6070', serviceName: 'ratelimit' });
  const configPaths = values.config ?? [];
  if (!configPaths.length && !values['consul-prefix']) throw new Error('give --config or --consul-prefix');
  const backend = values.backend ?? 'memory';
  if (backend !== 'memory' && backend !== 'redis') throw new Error('--backend must be memory or redis');
  const failureMode = values['failure-mode'] ?? 'open';
  if (failureMode !== 'open' && failureMode !== 'closed') throw new Error('--failure-mode must be open or closed');
  const ratio = Number(values['near-limit-ratio'] ?? env['NEAR_LIMIT_RATIO'] ?? '0.8');
  if (!(ratio >= 0 && ratio <= 1)) throw new Error('--near-limit-ratio must be between 0 and 1');
  const failures = Number(values['circuit-failures'] ?? '3');
  if (!Number.isInteger(failures) || failures < 1) throw new Error('--circuit-failures must be a whole number of at least 1');
  const openMs = ms(values['circuit-open'] ?? '500ms', '--circuit-open');
  const password = env['REDIS_AUTH'];
  return {
    ...component,
    configPaths,
    backend,
    redis: {
      url: values.redis ?? env['REDIS_URL'] ?? '127.0.0.1:6379',
      cluster: values['redis-cluster'] ?? false,
      timeoutMs: ms(values['redis-timeout'] ?? '50ms', '--redis-timeout'),
      ...(password ? { password } : {}),
    },
    failureMode,
    keyPrefix: values['key-prefix'] ?? env['CACHE_KEY_PREFIX'] ?? '',
    nearLimitRatio: ratio,
    expiryJitterSeconds: Math.floor(ms(values['expiry-jitter'] ?? '60s', '--expiry-jitter') / 1000),
    globalShadowMode: values['shadow-mode'] ?? env['SHADOW_MODE'] === 'true',
    circuit: { failureThreshold: failures, openMs, maxOpenMs: openMs * 10 },
  };
}
