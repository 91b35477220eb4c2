// Service settings from Consul service meta, validated once here. A bad value is refused with
// a reason naming the meta key; the caller keeps the last good settings.
import { DEFAULT_IDENTITY_HEADERS } from '../../shared/identity-headers.js';
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
} as const;

export interface SettingsDefaults {
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Headers that carry identity: never a rate-limit descriptor source. */
  readonly identityHeaders: ReadonlySet<string>;
}

export const DEFAULT_SETTINGS_DEFAULTS: SettingsDefaults = {
  requestTimeoutMs: 30_000,
  connectTimeoutMs: 1_000,
  identityHeaders: new Set(Object.values(DEFAULT_IDENTITY_HEADERS)),
};

export type SettingsResult = { ok: true; settings: ServiceSettings } | { ok: false; reason: string };

const PROTOCOLS: readonly Protocol[] = ['http', 'http2', 'grpc'];

/** "250ms", "1.5s", "2m" → milliseconds. */
export function parseDurationMs(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[m[2] as 'ms' | 's' | 'm'];
  return Number.isFinite(n) ? Math.round(n) : undefined;
}

/** "none": the service has no gateway routes (infrastructure such as ext-authz). */
export function parseGatewayPaths(text: string): GatewayPath[] | string {
  if (text.trim() === 'none') return [];
  const out: GatewayPath[] = [];
  for (const raw of text.split(',')) {
    const p = raw.trim();
    if (!p) continue;
    if (!p.startsWith('/')) return `path ${JSON.stringify(p)} must start with "/"`;
    if (/[?#\s]/.test(p)) return `path ${JSON.stringify(p)} must not contain "?", "#" or spaces`;
    if (p.length > 1 && !p.endsWith('/')) out.push({ prefix: p, separated: true });
    else out.push({ prefix: p, separated: false });
  }
  if (out.length === 0) return 'no path given (use "none" for no route)';
  return out;
}

const POLICY_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * `auth-policy`: comma-separated entries, each a policy for every path of the service
 * ("llm-clients") or for one of its gateway paths ("/test=none"). "none" makes a path public.
 */
export function applyAuthPolicies(paths: readonly GatewayPath[], text: string): GatewayPath[] | string {
  let serviceDefault: string | undefined;
  const byPath = new Map<string, string>();
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const eq = entry.indexOf('=');
    const [path, policy] = eq < 0 ? [undefined, entry] : [entry.slice(0, eq).trim(), entry.slice(eq + 1).trim()];
    if (!POLICY_NAME.test(policy)) return `${JSON.stringify(policy)} is not a policy name`;
    if (path === undefined) {
      if (serviceDefault !== undefined) return 'more than one policy for the whole service';
      serviceDefault = policy;
    } else {
      if (!paths.some((p) => p.prefix === path)) return `${path} is not one of the service's gateway paths`;
      byPath.set(path, policy);
    }
  }
  return paths.map((p) => {
    const policy = byPath.get(p.prefix) ?? serviceDefault;
    return policy === undefined ? p : { ...p, authPolicy: policy };
  });
}

export function serviceSettings(
  name: string,
  meta: Readonly<Record<string, string>>,
  defaults: SettingsDefaults = DEFAULT_SETTINGS_DEFAULTS,
): SettingsResult {
  const protocol = (meta[META.protocol] ?? 'http').trim().toLowerCase();
  if (!PROTOCOLS.includes(protocol as Protocol)) {
    return { ok: false, reason: `meta "${META.protocol}": ${JSON.stringify(protocol)} is not one of ${PROTOCOLS.join(', ')}` };
  }
  let gatewayPaths: GatewayPath[] = [{ prefix: `/${name}/`, separated: false }];
  const pathMeta = meta[META.gatewayPath];
  if (pathMeta !== undefined) {
    const parsed = parseGatewayPaths(pathMeta);
    if (typeof parsed === 'string') return { ok: false, reason: `meta "${META.gatewayPath}": ${parsed}` };
    gatewayPaths = parsed;
  }
  const authMeta = meta[META.authPolicy];
  if (authMeta !== undefined) {
    const withPolicies = applyAuthPolicies(gatewayPaths, authMeta);
    if (typeof withPolicies === 'string') return { ok: false, reason: `meta "${META.authPolicy}": ${withPolicies}` };
    gatewayPaths = withPolicies;
  }
  const rateMeta = meta[META.rateLimits];
  if (rateMeta !== undefined) {
    const withLimits = applyRateLimits(gatewayPaths, rateMeta, defaults.identityHeaders);
    if (typeof withLimits === 'string') return { ok: false, reason: `meta "${META.rateLimits}": ${withLimits}` };
    gatewayPaths = withLimits;
  }
  const timeout = durationMeta(meta, META.timeout, defaults.requestTimeoutMs);
  if (typeof timeout === 'string') return { ok: false, reason: timeout };
  const connectTimeout = durationMeta(meta, META.connectTimeout, defaults.connectTimeoutMs);
  if (typeof connectTimeout === 'string') return { ok: false, reason: connectTimeout };
  if (connectTimeout <= 0) return { ok: false, reason: `meta "${META.connectTimeout}": must be more than 0` };
  let upstreams: string[] | undefined;
  const upstreamMeta = meta[META.upstreams];
  if (upstreamMeta !== undefined) {
    upstreams = upstreamMeta.split(',').map((u) => u.trim()).filter(Boolean);
    const bad = upstreams.find((u) => !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(u));
    if (bad !== undefined) return { ok: false, reason: `meta "${META.upstreams}": ${JSON.stringify(bad)} is not a service name` };
  }
  return {
    ok: true,
    settings: {
      protocol: protocol as Protocol,
      gatewayPaths,
      requestTimeoutMs: timeout,
      connectTimeoutMs: connectTimeout,
      ...(upstreams ? { upstreams } : {}),
    },
  };
}

function durationMeta(meta: Readonly<Record<string, string>>, key: string, fallback: number): number | string {
  const raw = meta[key];
  if (raw === undefined) return fallback;
  const ms = parseDurationMs(raw);
  if (ms === undefined) return `meta "${key}": ${JSON.stringify(raw)} is not a duration like "500ms", "30s" or "2m"`;
  return ms;
}
