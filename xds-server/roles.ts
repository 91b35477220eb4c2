// Which configuration a node gets, from its node metadata:
//   role: gateway (the default)   the edge; gateway_address / gateway_port for its listener
//   role: sidecar                 next to one service: service, app_port, inbound_port,
//                                 outbound_port, inbound_address
//   role: proxyless               a gRPC client resolving xds:/// targets itself
// Nodes with the same role and settings share one snapshot, so translation happens once per
// distinct role, not once per proxy.
import { isPort } from '../shared/host-port.js';
import type { NodeInfo } from './server/node.js';
import type { SidecarRole } from './translate/sidecar.js';

export interface GatewayRole {
  readonly kind: 'gateway';
  readonly address: string;
  readonly port: number;
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

export function roleOf(node: NodeInfo, defaults: RoleDefaults): Role {
  const md = node.metadata;
  const kind = md['role'] ?? 'gateway';
  switch (kind) {
    case 'gateway':
      return {
        kind: 'gateway',
        address: stringOf(md['gateway_address'], 'gateway_address') ?? defaults.gatewayAddress,
        port: portOf(md['gateway_port'], 'gateway_port') ?? defaults.gatewayPort,
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
      };
    }
    case 'proxyless':
      return { kind: 'proxyless' };
    default:
      throw new RoleError(`node ${node.id}: unknown role ${JSON.stringify(kind)} (known: gateway, sidecar, proxyless)`);
  }
}

export function roleKey(role: Role): string {
  switch (role.kind) {
    case 'gateway':
      return `gateway:${role.address}:${role.port}`;
    case 'sidecar':
      return `sidecar:${role.service}:${role.inboundAddress}:${role.inboundPort}:${role.appPort}:${role.outboundPort}`;
    case 'proxyless':
      return 'proxyless';
  }
}
