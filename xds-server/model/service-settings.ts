// Service settings from Consul service meta, validated once here. A bad value is refused with
// a reason naming the meta key; the caller keeps the last good settings.
import { DEFAULT_IDENTITY_HEADERS } from '../../shared/identity-headers.js';
import { DIALECTS, MODEL_SCHEDULING } from '../../shared/llm-gateway.js';
import { checkDuration } from '../../shared/validate/duration.js';
import { checkOnOff } from '../../shared/validate/on-off.js';
import { isPolicyName, isServiceName, MODEL_NAME } from '../../shared/validate/names.js';
import { refused, valid, within, type Checked } from '../../shared/validate/result.js';
import type { GatewayPath, Protocol, ServiceSettings } from './mesh.js';
import { applyRateLimits } from './rate-limit-meta.js';

export const META = {
  protocol: 'protocol',
  gatewayPath: 'gateway-path',
  authPolicy: 'auth-policy',
  rateLimits: 'rate-limits',
  upstreams: 'upstreams',
  timeout: 'timeout',
  connectTimeout: 'connect-timeout',
  models: 'models',
  requestLog: 'request-log',
  modelDialect: 'model-dialect',
  modelScheduling: 'model-scheduling',
  transcode: 'transcode',
  login: 'login',
} as const;


export interface SettingsDefaults {
  /** Headers that carry identity: never a rate-limit descriptor source. */
  readonly identityHeaders: ReadonlySet<string>;
}

export const DEFAULT_SETTINGS_DEFAULTS: SettingsDefaults = {
  identityHeaders: new Set(Object.values(DEFAULT_IDENTITY_HEADERS)),
};

const PROTOCOLS: readonly Protocol[] = ['http', 'http2', 'grpc'];

/** "none": the service has no gateway routes (infrastructure such as ext-authz). */
export function parseGatewayPaths(text: string): Checked<GatewayPath[]> {
  if (text.trim() === 'none') return valid([]);
  const out: GatewayPath[] = [];
  for (const raw of text.split(',')) {
    const p = raw.trim();
    if (!p) continue;
    if (!p.startsWith('/')) return refused('', `path ${JSON.stringify(p)} must start with "/"`);
    if (/[?#\s]/.test(p)) return refused('', `path ${JSON.stringify(p)} must not contain "?", "#" or spaces`);
    if (p.length > 1 && !p.endsWith('/')) out.push({ prefix: p, separated: true });
    else out.push({ prefix: p, separated: false });
  }
  if (out.length === 0) return refused('', 'no path given (use "none" for no route)');
  return valid(out);
}

/**
 * `auth-policy`: comma-separated entries, each a policy for every path of the service
 * ("llm-clients") or for one of its gateway paths ("/test=none"). "none" makes a path public.
 */
export function applyAuthPolicies(paths: readonly GatewayPath[], text: string): Checked<GatewayPath[]> {
  let serviceDefault: string | undefined;
  const byPath = new Map<string, string>();
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const eq = entry.indexOf('=');
    const [path, policy] = eq < 0 ? [undefined, entry] : [entry.slice(0, eq).trim(), entry.slice(eq + 1).trim()];
    if (!isPolicyName(policy)) return refused('', `${JSON.stringify(policy)} is not a policy name`);
    if (path === undefined) {
      if (serviceDefault !== undefined) return refused('', 'more than one policy for the whole service');
      serviceDefault = policy;
    } else {
      if (!paths.some((p) => p.prefix === path)) return refused('', `${path} is not one of the service's gateway paths`);
      byPath.set(path, policy);
    }
  }
  return valid(
    paths.map((p) => {
      const policy = byPath.get(p.prefix) ?? serviceDefault;
      return policy === undefined ? p : { ...p, authPolicy: policy };
    }),
  );
}

const metaField = (key: string): string => `meta "${key}"`;

export function serviceSettings(
  name: string,
  meta: Readonly<Record<string, string>>,
  defaults: SettingsDefaults = DEFAULT_SETTINGS_DEFAULTS,
): Checked<ServiceSettings> {
  const protocol = meta[META.protocol]?.trim().toLowerCase();
  if (protocol !== undefined && !PROTOCOLS.includes(protocol as Protocol)) {
    return refused(metaField(META.protocol), `${JSON.stringify(protocol)} is not one of ${PROTOCOLS.join(', ')}`);
  }
  let gatewayPaths: GatewayPath[] = [{ prefix: `/${name}/`, separated: false }];
  const steps: Array<[key: string, apply: (raw: string) => Checked<GatewayPath[]>]> = [
    [META.gatewayPath, (raw) => parseGatewayPaths(raw)],
    [META.authPolicy, (raw) => applyAuthPolicies(gatewayPaths, raw)],
    [META.rateLimits, (raw) => applyRateLimits(gatewayPaths, raw, defaults.identityHeaders)],
  ];
  for (const [key, apply] of steps) {
    const raw = meta[key];
    if (raw === undefined) continue;
    const r = within(metaField(key), apply(raw));
    if (!r.ok) return r;
    gatewayPaths = r.value;
  }
  const timeout = durationMeta(meta, META.timeout);
  if (!timeout.ok) return timeout;
  const connectTimeout = durationMeta(meta, META.connectTimeout);
  if (!connectTimeout.ok) return connectTimeout;
  if (connectTimeout.value !== undefined && connectTimeout.value <= 0) return refused(metaField(META.connectTimeout), 'must be more than 0');
  let upstreams: string[] | undefined;
  const upstreamMeta = meta[META.upstreams];
  if (upstreamMeta !== undefined) {
    upstreams = upstreamMeta.split(',').map((u) => u.trim()).filter(Boolean);
    const bad = upstreams.find((u) => !isServiceName(u));
    if (bad !== undefined) return refused(metaField(META.upstreams), `${JSON.stringify(bad)} is not a service name`);
  }
  let models: string[] | undefined;
  const modelMeta = meta[META.models];
  if (modelMeta !== undefined) {
    models = [...new Set(modelMeta.split(',').map((m) => m.trim()).filter(Boolean))].sort();
    const bad = models.find((m) => !MODEL_NAME.test(m));
    if (bad !== undefined) return refused(metaField(META.models), `${JSON.stringify(bad)} is not a model name (letters, digits and . _ : / @ -, at most 128)`);
  }
  const dialect = oneOf(meta, META.modelDialect, DIALECTS);
  if (!dialect.ok) return dialect;
  const scheduling = oneOf(meta, META.modelScheduling, MODEL_SCHEDULING);
  if (!scheduling.ok) return scheduling;
  const requestLog = onOff(meta, META.requestLog);
  if (!requestLog.ok) return requestLog;
  const transcode = onOff(meta, META.transcode);
  if (!transcode.ok) return transcode;
  const login = meta[META.login]?.trim();
  if (login !== undefined && !isServiceName(login)) return refused(metaField(META.login), `${JSON.stringify(login)} is not a browser-login name`);
  return valid({
    ...(login !== undefined ? { login } : {}),
    ...(transcode.value !== undefined ? { transcode: transcode.value } : {}),
    ...(requestLog.value ? { requestLog: true } : {}),
    ...(dialect.value !== undefined ? { modelDialect: dialect.value } : {}),
    ...(scheduling.value !== undefined ? { modelScheduling: scheduling.value } : {}),
    ...(protocol !== undefined ? { protocol: protocol as Protocol } : {}),
    gatewayPaths,
    ...(timeout.value !== undefined ? { requestTimeoutMs: timeout.value } : {}),
    ...(connectTimeout.value !== undefined ? { connectTimeoutMs: connectTimeout.value } : {}),
    ...(upstreams ? { upstreams } : {}),
    ...(models?.length ? { models } : {}),
  });
}

/** A meta value that must be one of `values` (trimmed), or absent. */
function oneOf<T extends string>(meta: Readonly<Record<string, string>>, key: string, values: readonly T[]): Checked<T | undefined> {
  const raw = meta[key]?.trim();
  if (raw === undefined) return valid(undefined);
  return (values as readonly string[]).includes(raw) ? valid(raw as T) : refused(metaField(key), `${JSON.stringify(raw)} is not one of ${values.join(', ')}`);
}

function onOff(meta: Readonly<Record<string, string>>, key: string): Checked<boolean | undefined> {
  const raw = meta[key];
  return raw === undefined ? valid(undefined) : checkOnOff(metaField(key), raw);
}

function durationMeta(meta: Readonly<Record<string, string>>, key: string): Checked<number | undefined> {
  const raw = meta[key];
  return raw === undefined ? valid(undefined) : checkDuration(metaField(key), raw);
}
