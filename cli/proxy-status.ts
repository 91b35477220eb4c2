// `meshgate proxy-status`: every connected proxy, its role and API, and per type whether it holds
// the latest version (SYNCED), not yet (STALE) or rejected it (NACKED, with Envoy's reason).
import type { ProxyStatus } from '../xds-server/server/proxy-registry.js';
import { PUSH_ORDER } from '../xds-server/xds-types.js';
import { table } from './table.js';

const SHORT = { cluster: 'CDS', endpoint: 'EDS', secret: 'SDS', listener: 'LDS', route: 'RDS' } as const;

function cell(s: ProxyStatus['types'][keyof ProxyStatus['types']]): string {
  if (s.status === 'NOT_SUBSCRIBED') return '-';
  if (s.status === 'STALE') return `STALE (${s.acked_version ?? 'none'} < ${s.latest_version ?? 'none'})`;
  return s.status;
}

export function formatProxyStatus(proxies: readonly ProxyStatus[]): string {
  if (proxies.length === 0) return 'no proxies connected';
  const sorted = [...proxies].sort((a, b) => (a.node_id < b.node_id ? -1 : a.node_id > b.node_id ? 1 : a.stream_id - b.stream_id));
  const rows = sorted.map((p) => [p.node_id, p.role, p.api, p.user_agent, ...PUSH_ORDER.map((t) => cell(p.types[t]))]);
  const out = [table(['NODE', 'ROLE', 'API', 'AGENT', ...PUSH_ORDER.map((t) => SHORT[t])], rows)];
  const nacks = sorted.flatMap((p) =>
    PUSH_ORDER.filter((t) => p.types[t].status === 'NACKED').map((t) => {
      const n = p.types[t].last_nack!;
      return `  ${p.node_id} rejected ${SHORT[t]} version ${n.version} at ${n.at}: ${n.message}`;
    }),
  );
  if (nacks.length) out.push('', 'rejected (NACK), still serving the last version it accepted:', ...nacks);
  return out.join('\n');
}

/** Whether every proxy holds the latest of every type it subscribes to. */
export function allSynced(proxies: readonly ProxyStatus[]): boolean {
  return proxies.every((p) => PUSH_ORDER.every((t) => p.types[t].status === 'SYNCED' || p.types[t].status === 'NOT_SUBSCRIBED'));
}
