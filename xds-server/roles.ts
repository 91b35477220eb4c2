// Which configuration a node gets, from its node metadata:
//   role: gateway (the default)   the edge; gateway_address / gateway_port for its listener
//   role: sidecar                 next to one service: service, app_port, inbound_port,
//                                 outbound_port, inbound_address
//   role: proxyless               a gRPC client resolving xds:/// targets itself
// A gateway or sidecar with stats_port (and its admin_port; stats_address and admin_address
// default to loopback) also gets a listener that serves its Prometheus stats.
// Nodes with the same role and settings share one snapshot, so translation happens once per
// distinct role, not once per proxy.
import { isPort } from '../shared/host-port.js';
import type { NodeInfo } from './server/node.js';
import type { SidecarRole } from './translate/sidecar.js';
import type { StatsEndpoint } from './translate/stats-endpoint.js';

export interface GatewayRole {
  readonly kind: 'gateway';
  readonly address: string;
  readonly port: number;
  readonly stats?: StatsEndpoint;
}

export interface ProxylessRole {
  readonly kind: 'proxyless';
}

export type Role = GatewayRole | SidecarRole | ProxylessRole;

export interface RoleDefaults {
  readonly gatewayAddress: string;
  readonly gatewayPort: number;
}

export const SIDECAR_DEFAULTS = { inboundAddress: '0.0.0.0', inboundPort: 15_000, outboundPort: 15_001 } as const;

export class RoleError extends Error {}

function portOf(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!isPort(n)) throw new RoleError(`node metadata ${field}: ${JSON.stringify(value)} is not a port`);
  return n;
}

function stringOf(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new RoleError(`node metadata ${field} must be a string`);
  return value;
}

function statsOf(node: NodeInfo): StatsEndpoint | undefined {
  const md = node.metadata;
  const port = portOf(md['stats_port'], 'stats_port');
  if (port === undefined) return undefined;
  const adminPort = portOf(md['admin_port'], 'admin_port');
  if (adminPort === undefined) throw new RoleError(`node ${node.id}: stats_port needs node metadata "admin_port" (the stats come from the admin)`);
  return { address: stringOf(md['stats_address'], 'stats_address') ?? '127.0.0.1', port, adminAddress: stringOf(md['admin_address'], 'admin_address') ?? '127.0.0.1', adminPort };
}

export function roleOf(node: NodeInfo, defaults: RoleDefaults): Role {
  const md = node.metadata;
  const stats = statsOf(node);
  const kind = md['role'] ?? 'gateway';
  switch (kind) {
    case 'gateway':
      return {
        kind: 'gateway',
        address: stringOf(md['gateway_address'], 'gateway_address') ?? defaults.gatewayAddress,
        port: portOf(md['gateway_port'], 'gateway_port') ?? defaults.gatewayPort,
        ...(stats ? { stats } : {}),
      };
    case 'sidecar': {
      const service = stringOf(md['service'], 'service');
      if (!service || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(service)) throw new RoleError(`node ${node.id}: a sidecar needs node metadata "service" (a service name)`);
      const appPort = portOf(md['app_port'], 'app_port');
      if (appPort === undefined) throw new RoleError(`node ${node.id}: a sidecar needs node metadata "app_port"`);
      return {
        kind: 'sidecar',
        service,
        appPort,
        inboundAddress: stringOf(md['inbound_address'], 'inbound_address') ?? SIDECAR_DEFAULTS.inboundAddress,
        inboundPort: portOf(md['inbound_port'], 'inbound_port') ?? SIDECAR_DEFAULTS.inboundPort,
        outboundPort: portOf(md['outbound_port'], 'outbound_port') ?? SIDECAR_DEFAULTS.outboundPort,
        ...(stats ? { stats } : {}),
      };
    }
    case 'proxyless':
      return { kind: 'proxyless' };
    default:
      throw new RoleError(`node ${node.id}: unknown role ${JSON.stringify(kind)} (known: gateway, sidecar, proxyless)`);
  }
}

export function roleKey(role: Role): string {
  const stats = role.kind !== 'proxyless' && role.stats ? `:stats=${role.stats.address}:${role.stats.port}>${role.stats.adminAddress}:${role.stats.adminPort}` : '';
  switch (role.kind) {
    case 'gateway':
      return `gateway:${role.address}:${role.port}${stats}`;
    case 'sidecar':
      return `sidecar:${role.service}:${role.inboundAddress}:${role.inboundPort}:${role.appPort}:${role.outboundPort}${stats}`;
    case 'proxyless':
      return 'proxyless';
  }
}
