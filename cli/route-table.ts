// `meshgate routes`: which path goes where, read from the route configurations the xds-server
// serves (RDS resources as proto3 JSON), one row per route.
import { table } from './table.js';

type Json = Record<string, unknown>;

export interface RoleRoutes {
  readonly role: string;
  readonly routeConfigs: readonly Json[];
}

function describeMatch(m: Json): string {
  const path =
    m['prefix'] !== undefined
      ? `${m['prefix']}*`
      : m['path'] !== undefined
        ? String(m['path'])
        : m['path_separated_prefix'] !== undefined
          ? `${m['path_separated_prefix']}[/*]`
          : m['safe_regex'] !== undefined
            ? `~${(m['safe_regex'] as Json)['regex']}`
            : '*';
  const parts = [path];
  for (const h of (m['headers'] as Json[] | undefined) ?? []) {
    const sm = (h['string_match'] as Json | undefined) ?? {};
    const [kind, value] = Object.entries(sm)[0] ?? ['present', ''];
    const v = kind === 'safe_regex' ? `~${(value as Json)['regex']}` : kind === 'exact' ? `=${value}` : `${kind}:${String(value)}`;
    parts.push(`${h['invert_match'] ? '!' : ''}${h['name']}${h['present_match'] ? '' : v}`);
  }
  for (const q of (m['query_parameters'] as Json[] | undefined) ?? []) parts.push(`?${q['name']}`);
  return parts.join(' ');
}

function describeAction(r: Json): string {
  const action = r['route'] as Json | undefined;
  if (action) {
    const weighted = action['weighted_clusters'] as { clusters: Array<{ name: string; weight: number }> } | undefined;
    const total = weighted?.clusters.reduce((sum, c) => sum + (c.weight ?? 0), 0) ?? 0;
    const target = weighted
      ? weighted.clusters.map((c) => `${c.name} ${Math.round(((c.weight ?? 0) / total) * 10_000) / 100}%`).join(', ')
      : String(action['cluster'] ?? action['cluster_header'] ?? '?');
    const rewrite = action['prefix_rewrite'] !== undefined ? ` (rewrite to ${action['prefix_rewrite']})` : '';
    return `${target}${rewrite}`;
  }
  const direct = r['direct_response'] as Json | undefined;
  if (direct) return `answer ${direct['status']}`;
  if (r['redirect']) return 'redirect';
  return '?';
}

export function routeRows(roles: readonly RoleRoutes[]): string[][] {
  const rows: string[][] = [];
  for (const { role, routeConfigs } of roles) {
    for (const rc of routeConfigs) {
      for (const vh of (rc['virtual_hosts'] as Json[] | undefined) ?? []) {
        const domains = ((vh['domains'] as string[] | undefined) ?? []).join(',');
        for (const r of (vh['routes'] as Json[] | undefined) ?? []) {
          rows.push([role, String(rc['name']), domains, describeMatch((r['match'] as Json | undefined) ?? {}), describeAction(r)]);
        }
      }
    }
  }
  return rows;
}

export function formatRoutes(roles: readonly RoleRoutes[]): string {
  const rows = routeRows(roles);
  if (rows.length === 0) return 'no routes';
  return table(['ROLE', 'ROUTE CONFIG', 'HOST', 'MATCH', 'DESTINATION'], rows);
}
