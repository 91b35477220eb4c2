// ratelimit-service settings from the command line, then the environment, then defaults.
import { parseArgs } from 'node:util';
import { COMPONENT_OPTIONS, H2_LIMITS_USAGE, componentConfig, type ComponentConfig } from '../shared/component-config.js';
import { durationFlag } from '../shared/validate/duration.js';
import { nonNegativeInteger } from '../shared/validate/positive-integer.js';

export interface RatelimitConfig extends ComponentConfig {
  readonly configPaths: readonly string[];
  readonly backend: 'memory' | 'redis';
  readonly redis: RedisSettings;
  readonly failureMode: 'open' | 'closed';
  readonly keyPrefix: string;
  readonly nearLimitRatio: number;
  readonly expiryJitterSeconds: number;
  readonly globalShadowMode: boolean;
  readonly globalQuotaMode: boolean;
  /** Over-limit counters remembered locally (the reference's LOCAL_CACHE_SIZE_IN_BYTES > 0). */
  readonly localCache: boolean;
  readonly circuit: { failureThreshold: number; openMs: number; maxOpenMs: number };
}

export interface RedisSettings {
  readonly url: string;
  readonly cluster: boolean;
  readonly timeoutMs: number;
  readonly username?: string;
  readonly password?: string;
  /** TLS to Redis, the server's certificate checked against `caFile` (else the system's roots). */
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
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
  --redis-timeout DURATION   per-request Redis timeout [50ms]
                             ($REDIS_AUTH: password, or username:password for an ACL user)
  --redis-tls                TLS to Redis, certificate and host name checked [$REDIS_TLS]
  --redis-tls-ca FILE        trust this CA for Redis instead of the system's [$REDIS_TLS_CACERT]
  --redis-tls-cert FILE      client certificate for Redis [$REDIS_TLS_CLIENT_CERT]
  --redis-tls-key FILE       its private key [$REDIS_TLS_CLIENT_KEY]
  --failure-mode open|closed what to answer when Redis cannot count [open]
  --key-prefix PREFIX        prefix of every counter key [$CACHE_KEY_PREFIX, none]
  --near-limit-ratio R       near_limit threshold [$NEAR_LIMIT_RATIO, 0.8]
  --expiry-jitter DURATION   up to this much is added to counter expiry [60s]
  --shadow-mode              answer OK overall, each descriptor's code kept, still counting [$SHADOW_MODE]
  --quota-mode               every limit in quota mode: over it answers OK with the limit [$QUOTA_MODE]
  --local-cache-size BYTES   remember over-limit counters locally (0: off, as the reference) [$LOCAL_CACHE_SIZE_IN_BYTES, 0]
  --circuit-failures N       Redis failures in a row (per node) that open its circuit [3]
  --circuit-open DURATION    how long the circuit stays open first (doubles up to 10x) [500ms]
${H2_LIMITS_USAGE}`;

const ms = durationFlag;

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
      'redis-tls': { type: 'boolean' },
      'redis-tls-ca': { type: 'string' },
      'redis-tls-cert': { type: 'string' },
      'redis-tls-key': { type: 'string' },
      'failure-mode': { type: 'string' },
      'key-prefix': { type: 'string' },
      'near-limit-ratio': { type: 'string' },
      'expiry-jitter': { type: 'string' },
      'shadow-mode': { type: 'boolean' },
      'quota-mode': { type: 'boolean' },
      'local-cache-size': { type: 'string' },
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
  return {
    ...component,
    configPaths,
    backend,
    redis: {
      url: values.redis ?? env['REDIS_URL'] ?? '127.0.0.1:6379',
      cluster: values['redis-cluster'] ?? false,
      timeoutMs: ms(values['redis-timeout'] ?? '50ms', '--redis-timeout'),
      ...redisAuth(env['REDIS_AUTH']),
      ...redisTls(values, env),
    },
    failureMode,
    keyPrefix: values['key-prefix'] ?? env['CACHE_KEY_PREFIX'] ?? '',
    nearLimitRatio: ratio,
    expiryJitterSeconds: Math.floor(ms(values['expiry-jitter'] ?? '60s', '--expiry-jitter') / 1000),
    globalShadowMode: values['shadow-mode'] ?? env['SHADOW_MODE'] === 'true',
    globalQuotaMode: values['quota-mode'] ?? env['QUOTA_MODE'] === 'true',
    localCache: nonNegativeInteger(values['local-cache-size'] ?? env['LOCAL_CACHE_SIZE_IN_BYTES'], '--local-cache-size', 0) > 0,
    circuit: { failureThreshold: failures, openMs, maxOpenMs: openMs * 10 },
  };
}

/** envoyproxy/ratelimit's REDIS_AUTH: a password, or "username:password" (split at the first colon). */
function redisAuth(auth: string | undefined): { username?: string; password?: string } {
  if (!auth) return {};
  const colon = auth.indexOf(':');
  return colon < 0 ? { password: auth } : { username: auth.substring(0, colon), password: auth.substring(colon + 1) };
}

function redisTls(
  values: { 'redis-tls'?: boolean; 'redis-tls-ca'?: string; 'redis-tls-cert'?: string; 'redis-tls-key'?: string },
  env: NodeJS.ProcessEnv,
): { tls?: RedisSettings['tls'] } {
  const caFile = values['redis-tls-ca'] ?? env['REDIS_TLS_CACERT'];
  const certFile = values['redis-tls-cert'] ?? env['REDIS_TLS_CLIENT_CERT'];
  const keyFile = values['redis-tls-key'] ?? env['REDIS_TLS_CLIENT_KEY'];
  if (!certFile !== !keyFile) throw new Error('--redis-tls-cert and --redis-tls-key go together');
  const on = values['redis-tls'] ?? (env['REDIS_TLS'] === 'true' || Boolean(caFile || certFile));
  if (!on) return {};
  return { tls: { ...(caFile ? { caFile } : {}), ...(certFile ? { certFile, keyFile: keyFile! } : {}) } };
}
