// `rate-limits` service meta: which descriptors the gateway sends to the rate-limit service.
//   items separated by ";", each "[PATH=]ENTRY,ENTRY,…" (one descriptor; without PATH it is for
//   every gateway path of the service). ENTRY is one of
//     remote_address | destination_cluster | header:NAME[=KEY] | generic:VALUE[=KEY] | auth:FIELD
//     | model (the model the LLM processor routed to; token budgets, --llm-token-budgets)
//   e.g.  "/v1/=generic:llm,auth:key_id; /test=generic:test,remote_address"
// A caller's identity only ever comes from ext-authz (auth:FIELD, Envoy's dynamic metadata),
// never from a request header: naming an identity header is refused.
import { checkHeaderName } from '../../shared/validate/names.js';
import { refused, valid, type Checked } from '../../shared/validate/result.js';
import type { GatewayPath, RateLimitDescriptor, RateLimitEntry } from './mesh.js';

export const AUTH_FIELDS = ['subject', 'tenant', 'plan', 'scopes', 'key_id', 'credential', 'policy'] as const;

function entryOf(text: string, identityHeaders: ReadonlySet<string>): RateLimitEntry | string {
  if (text === 'remote_address') return { kind: 'remote_address' };
  if (text === 'destination_cluster') return { kind: 'destination_cluster' };
  if (text === 'model') return { kind: 'model' };
  const colon = text.indexOf(':');
  if (colon < 0) return `unknown entry ${JSON.stringify(text)} (remote_address, destination_cluster, model, header:NAME, generic:VALUE, auth:FIELD)`;
  const kind = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  const eq = rest.indexOf('=');
  const [what, key] = eq < 0 ? [rest, undefined] : [rest.slice(0, eq), rest.slice(eq + 1)];
  if (key !== undefined && !/^[A-Za-z0-9_.-]+$/.test(key)) return `${JSON.stringify(key)} is not a descriptor key`;
  switch (kind) {
    case 'header': {
      const name = checkHeaderName('', what.toLowerCase());
      if (!name.ok) return name.reason;
      const header = name.value;
      if (identityHeaders.has(header)) return `header ${header} carries identity, which only ext-authz may establish: use auth:<field>`;
      return { kind: 'header', header, key: key ?? header };
    }
    case 'generic':
      if (!what) return 'generic needs a value';
      return { kind: 'generic', value: what, key: key ?? 'generic_key' };
    case 'auth':
      if (!(AUTH_FIELDS as readonly string[]).includes(what)) return `auth:${what}: the field is one of ${AUTH_FIELDS.join(', ')}`;
      if (key !== undefined) return 'auth entries take no key: the key is the field';
      return { kind: 'auth', field: what };
    default:
      return `unknown entry kind ${JSON.stringify(kind)}`;
  }
}

/** One descriptor: ENTRY,ENTRY,… */
function descriptorOf(body: string, identityHeaders: ReadonlySet<string>): Checked<RateLimitDescriptor> {
  const entries: RateLimitEntry[] = [];
  for (const e of body.split(',')) {
    const t = e.trim();
    if (!t) continue;
    const entry = entryOf(t, identityHeaders);
    if (typeof entry === 'string') return refused('', entry);
    entries.push(entry);
  }
  if (!entries.length) return refused('', `${JSON.stringify(body.trim())}: a descriptor needs at least one entry`);
  return valid({ entries });
}

/** Descriptors separated by ";", for every route they apply to (token budgets). */
export function parseDescriptors(text: string, identityHeaders: ReadonlySet<string>): Checked<RateLimitDescriptor[]> {
  const out: RateLimitDescriptor[] = [];
  for (const item of text.split(';')) {
    if (!item.trim()) continue;
    const d = descriptorOf(item, identityHeaders);
    if (!d.ok) return d;
    out.push(d.value);
  }
  return valid(out);
}

export function applyRateLimits(paths: readonly GatewayPath[], text: string, identityHeaders: ReadonlySet<string>): Checked<GatewayPath[]> {
  const forAll: RateLimitDescriptor[] = [];
  const byPath = new Map<string, RateLimitDescriptor[]>();
  for (const raw of text.split(';')) {
    const item = raw.trim();
    if (!item) continue;
    let path: string | undefined;
    let body = item;
    if (item.startsWith('/')) {
      const eq = item.indexOf('=');
      if (eq < 0) return refused('', `${JSON.stringify(item)}: expected PATH=ENTRIES`);
      path = item.slice(0, eq).trim();
      body = item.slice(eq + 1);
      if (!paths.some((p) => p.prefix === path)) return refused('', `${path} is not one of the service's gateway paths`);
    }
    const d = descriptorOf(body, identityHeaders);
    if (!d.ok) return d;
    if (path === undefined) forAll.push(d.value);
    else byPath.set(path, [...(byPath.get(path) ?? []), d.value]);
  }
  return valid(
    paths.map((p) => {
      const rateLimits = [...forAll, ...(byPath.get(p.prefix) ?? [])];
      return rateLimits.length ? { ...p, rateLimits } : p;
    }),
  );
}
