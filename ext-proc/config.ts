// The LLM processor's settings from the command line, then the environment, then defaults.
import { parseArgs } from 'node:util';
import { COMPONENT_OPTIONS, H2_LIMITS_USAGE, componentConfig, type ComponentConfig } from '../shared/component-config.js';
import { DEFAULT_IDENTITY_HEADERS } from '../shared/identity-headers.js';
import { MAX_MESSAGE_TIMEOUT_SECONDS } from '../shared/llm-gateway.js';
import { checkHeaderName } from '../shared/validate/names.js';
import { checkOnOff } from '../shared/validate/on-off.js';
import { positiveInteger } from '../shared/validate/positive-integer.js';
import { orThrow, within } from '../shared/validate/result.js';
import { hostPort } from '../shared/host-port.js';
import { durationFlag } from '../shared/validate/duration.js';
import type { CacheBounds } from './cache/store.js';
import { redactor, type Redactor } from './log/redact.js';
import type { PickerConfig } from './picker/endpoint-picker.js';
import { DEFAULT_WEIGHTS } from './picker/pick.js';

export interface ProcessorConfig extends ComponentConfig {
  readonly maxRequestBytes: number;
  readonly maxResponseBytes: number;
  /** The header ext-authz sets with the caller's tenant (the gateway strips client copies). */
  readonly tenantHeader: string;
  readonly metricBounds: { readonly models: number; readonly tenants: number; readonly services: number };
  readonly requestLog: { readonly file: string | undefined; readonly maxFieldBytes: number; readonly redact: Redactor };
  readonly cache: { readonly backend: 'off' | 'memory' | 'redis'; readonly redis: { host: string; port: number } | undefined; readonly timeoutMs: number } & CacheBounds;
  /** The endpoint picker: on with --xds. */
  readonly picker: Omit<PickerConfig, 'nodeId'> | undefined;
}

/** The default body limit of the gateway's model routes too (xds-server), so the two agree. */
export const DEFAULT_MAX_REQUEST_BYTES = 2 * 1024 * 1024;
const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export const USAGE = `ext-proc: the LLM processor on Envoy's external processing filter (envoy.service.ext_proc.v3)

  --listen HOST:PORT         gRPC listen address [$MESHGATE_EXT_PROC_ADDR, 127.0.0.1:9194]
  --admin HOST:PORT          admin HTTP (/healthz /readyz /metrics /status) [127.0.0.1:9195]
  --consul HOST:PORT         Consul HTTP API [$CONSUL_HTTP_ADDR]
  --register                 register in Consul as --service-name (gRPC health check)
  --service-name NAME        [ext-proc]
  --service-id ID            [<service-name>-<port>]
  --advertise ADDR           address to register (else the listen host)
  --max-request-bytes N      the largest request body read for its model [${DEFAULT_MAX_REQUEST_BYTES}]
  --max-response-bytes N     a JSON answer larger than this is passed on without its usage read [${DEFAULT_MAX_RESPONSE_BYTES}]
  --tenant-header NAME       the header ext-authz puts the tenant in (one of the gateway's identity headers: the gateway sends the processor only those of a call's headers) [${DEFAULT_IDENTITY_HEADERS.tenant}]
  --request-log-file PATH    the request log (services with meta request-log=on, policies with
                             request_log: true) [stdout]
  --request-log-max-bytes N  of the prompt, and of the completion, in each line [16384]
  --redact PATTERN           a secret's shape (RE2) to take out of the request log, beside the
                             built-in ones (Bearer tokens, sk-/mgk_ keys, JWTs); repeatable
  --cache memory|redis|off   the response cache of embeddings and chats at temperature 0 (or
                             x-meshgate-cache: allow) [memory]
  --cache-redis HOST:PORT    the cache on this Redis (with --cache redis)
  --cache-timeout DURATION   a Redis that answers later is a miss [50ms]
  --cache-ttl DURATION       how long an answer is reused [5m]
  --cache-max-bytes N        the memory cache's size [67108864]
  --cache-max-entry-bytes N  the largest answer kept [1048576]
  --metric-models N          distinct model label values before "_other" [200]
  --metric-tenants N         distinct tenant label values before "_other" [1000]
  --metric-services N        distinct service label values before "_other" [200]
  --xds HOST:PORT            the xds-server (ADS): the endpoint picker places the calls of the
                             models whose route says so, reading their pools from it [off]
  --picker-scrape-interval DURATION
                             how often each pool instance's /metrics is read [100ms]
  --picker-metrics-path PATH the instances' metrics (vLLM's names) [/metrics]
  --picker-queue-threshold N an instance with this many calls waiting is saturated [${DEFAULT_WEIGHTS.queueThreshold}]
  --picker-full-batch on|off an instance whose batch is full (the batch size it showed while calls
                             waited there) is saturated too [on]
  --picker-affinity-wait DURATION
                             a call whose prompt's prefix is mostly on a saturated instance waits
                             this long for a slot there before it takes another's [150ms]
  --picker-kv-threshold X    an instance with this share of its KV cache in use is saturated [${DEFAULT_WEIGHTS.kvThreshold}]
  --picker-prefix-weight X   what a whole-prompt prefix match is worth against waiting calls [${DEFAULT_WEIGHTS.prefixWeight}]
  --picker-prefix-block-chars N
                             the prompt's prefix in blocks of this many characters [256]
  --picker-prefix-max-blocks N
                             blocks of a prompt looked at [64]
  --picker-prefix-entries N  prefix blocks remembered, least recently used out first [100000]
  --picker-max-endpoints N   instances read, all pools together [1024]
  --queue-length N           calls that wait per saturated model pool, by priority and fair
                             between tenants (0: none wait) [256]
  --queue-max-wait DURATION  the longest a call waits for room, then 429 [5s]
${H2_LIMITS_USAGE}`;

type CacheFlags = Partial<Record<'cache' | 'cache-redis' | 'cache-timeout' | 'cache-ttl' | 'cache-max-bytes' | 'cache-max-entry-bytes', string>>;

function cacheConfig(values: CacheFlags): ProcessorConfig['cache'] {
  const backend = values.cache ?? 'memory';
  if (backend !== 'off' && backend !== 'memory' && backend !== 'redis') throw new Error(`--cache: ${JSON.stringify(backend)} is not memory, redis or off`);
  const redisAddr = values['cache-redis'];
  if (backend === 'redis' && !redisAddr) throw new Error('--cache redis needs --cache-redis HOST:PORT');
  return {
    backend,
    redis: redisAddr ? hostPort(redisAddr, '--cache-redis') : undefined,
    timeoutMs: durationFlag(values['cache-timeout'] ?? '50ms', '--cache-timeout'),
    ttlMs: durationFlag(values['cache-ttl'] ?? '5m', '--cache-ttl'),
    maxBytes: positiveInteger(values['cache-max-bytes'], '--cache-max-bytes', 64 * 1024 * 1024),
    maxEntryBytes: positiveInteger(values['cache-max-entry-bytes'], '--cache-max-entry-bytes', 1024 * 1024),
  };
}

/** The endpoint picker's flags (all strings); every one but --xds needs --xds. */
const PICKER_OPTIONS = {
  xds: { type: 'string' },
  'picker-scrape-interval': { type: 'string' },
  'picker-metrics-path': { type: 'string' },
  'picker-queue-threshold': { type: 'string' },
  'picker-full-batch': { type: 'string' },
  'picker-affinity-wait': { type: 'string' },
  'picker-kv-threshold': { type: 'string' },
  'picker-prefix-weight': { type: 'string' },
  'picker-prefix-block-chars': { type: 'string' },
  'picker-prefix-max-blocks': { type: 'string' },
  'picker-prefix-entries': { type: 'string' },
  'picker-max-endpoints': { type: 'string' },
  'queue-length': { type: 'string' },
  'queue-max-wait': { type: 'string' },
} as const;
type PickerFlags = Partial<Record<keyof typeof PICKER_OPTIONS, string>>;

function fraction(text: string | undefined, flag: string, fallback: number, max = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`${flag} ${text}: not a number in (0, ${max}]`);
  return n;
}

/** Envoy waits for a queued call's answer at most MAX_MESSAGE_TIMEOUT_SECONDS: the wait stays a second under it. */
function queueMaxWait(text: string | undefined): number {
  const ms = durationFlag(text ?? '5s', '--queue-max-wait');
  if (ms > (MAX_MESSAGE_TIMEOUT_SECONDS - 1) * 1000) throw new Error(`--queue-max-wait ${text}: at most ${MAX_MESSAGE_TIMEOUT_SECONDS - 1}s (the gateway waits ${MAX_MESSAGE_TIMEOUT_SECONDS}s for an answer at most)`);
  return ms;
}

function pickerConfig(values: PickerFlags): ProcessorConfig['picker'] {
  if (!values.xds) {
    const stray = (Object.keys(PICKER_OPTIONS) as Array<keyof PickerFlags>).find((k) => values[k] !== undefined);
    if (stray) throw new Error(`--${stray} needs --xds HOST:PORT (the endpoint picker is off without it)`);
    return undefined;
  }
  const xds = hostPort(values.xds, '--xds');
  const path = values['picker-metrics-path'] ?? '/metrics';
  if (!path.startsWith('/')) throw new Error(`--picker-metrics-path ${path}: must start with /`);
  return {
    xds: `${xds.host}:${xds.port}`,
    scrapeIntervalMs: durationFlag(values['picker-scrape-interval'] ?? '100ms', '--picker-scrape-interval'),
    metricsPath: path,
    maxPools: 256,
    queueLength: values['queue-length'] === '0' ? 0 : positiveInteger(values['queue-length'], '--queue-length', 256),
    queueMaxWaitMs: queueMaxWait(values['queue-max-wait']),
    maxEndpoints: positiveInteger(values['picker-max-endpoints'], '--picker-max-endpoints', 1024),
    prefix: {
      blockChars: positiveInteger(values['picker-prefix-block-chars'], '--picker-prefix-block-chars', 256),
      maxBlocks: positiveInteger(values['picker-prefix-max-blocks'], '--picker-prefix-max-blocks', 64),
      maxEntries: positiveInteger(values['picker-prefix-entries'], '--picker-prefix-entries', 100_000),
    },
    weights: {
      queueThreshold: positiveInteger(values['picker-queue-threshold'], '--picker-queue-threshold', DEFAULT_WEIGHTS.queueThreshold),
      affinityWaitMs: values['picker-affinity-wait'] === undefined ? DEFAULT_WEIGHTS.affinityWaitMs : durationFlag(values['picker-affinity-wait'], '--picker-affinity-wait'),
      fullBatch: values['picker-full-batch'] === undefined ? DEFAULT_WEIGHTS.fullBatch : orThrow(checkOnOff('--picker-full-batch', values['picker-full-batch'])),
      kvThreshold: fraction(values['picker-kv-threshold'], '--picker-kv-threshold', DEFAULT_WEIGHTS.kvThreshold),
      prefixWeight: fraction(values['picker-prefix-weight'], '--picker-prefix-weight', DEFAULT_WEIGHTS.prefixWeight, 100),
    },
  };
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ProcessorConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...COMPONENT_OPTIONS,
      'max-request-bytes': { type: 'string' },
      'max-response-bytes': { type: 'string' },
      'tenant-header': { type: 'string' },
      'metric-models': { type: 'string' },
      'metric-tenants': { type: 'string' },
      'metric-services': { type: 'string' },
      'request-log-file': { type: 'string' },
      'request-log-max-bytes': { type: 'string' },
      redact: { type: 'string', multiple: true },
      cache: { type: 'string' },
      'cache-redis': { type: 'string' },
      'cache-timeout': { type: 'string' },
      'cache-ttl': { type: 'string' },
      'cache-max-bytes': { type: 'string' },
      'cache-max-entry-bytes': { type: 'string' },
      ...PICKER_OPTIONS,
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const component = componentConfig(values, env, { listenEnv: 'MESHGATE_EXT_PROC_ADDR', listen: '127.0.0.1:9194', admin: '127.0.0.1:9195', serviceName: 'ext-proc' });
  const maxRequestBytes = positiveInteger(values['max-request-bytes'], '--max-request-bytes', DEFAULT_MAX_REQUEST_BYTES);
  // One ext_proc message carries the whole body: the HTTP/2 server must take it.
  if (maxRequestBytes + 1024 > component.h2Limits.maxRequestBodyBytes - 5) {
    throw new Error(`--max-request-bytes ${maxRequestBytes} does not fit one gRPC message of --h2-max-request-body-bytes ${component.h2Limits.maxRequestBodyBytes} (leave 1 KiB for the envelope)`);
  }
  return {
    ...component,
    maxRequestBytes,
    maxResponseBytes: positiveInteger(values['max-response-bytes'], '--max-response-bytes', DEFAULT_MAX_RESPONSE_BYTES),
    tenantHeader: orThrow(checkHeaderName('--tenant-header', values['tenant-header'] ?? DEFAULT_IDENTITY_HEADERS.tenant)),
    requestLog: {
      file: values['request-log-file'],
      maxFieldBytes: positiveInteger(values['request-log-max-bytes'], '--request-log-max-bytes', 16 * 1024),
      redact: orThrow(within('--redact', redactor(values.redact ?? []))),
    },
    cache: cacheConfig(values),
    picker: pickerConfig(values),
    metricBounds: {
      models: positiveInteger(values['metric-models'], '--metric-models', 200),
      tenants: positiveInteger(values['metric-tenants'], '--metric-tenants', 1_000),
      services: positiveInteger(values['metric-services'], '--metric-services', 200),
    },
  };
}

