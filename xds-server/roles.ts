// Which configuration a node gets, from its Envoy node metadata:
//   role: gateway (the default)      the edge: every service, one HTTP listener
//   gateway_port / gateway_address   where that listener binds (else the server's defaults)
// Nodes of the same role and settings share one snapshot, so translation happens once per
// distinct role, not once per proxy.
import type { NodeInfo } from './server/node.js';

export interface GatewayRole {
  readonly kind: 'gateway';
  readonly address: string;
  readonly port: number;
}

export type Role = GatewayRole;

export interface RoleDefaults {
  readonly gatewayAddress: string;
  readonly gatewayPort: number;
}

export class RoleError extends Error {}

function portOf(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new RoleError(`node metadata ${field}: ${JSON.stringify(value)} is not a port`);
  return n;
}

export function roleOf(node: NodeInfo, defaults: RoleDefaults): Role {
  const md = node.metadata;
  const kind = md['role'] ?? 'gateway';
  if (kind !== 'gateway') throw new RoleError(`node ${node.id}: unknown role ${JSON.stringify(kind)} (known: gateway)`);
  const address = md['gateway_address'];
  if (address !== undefined && typeof address !== 'string') throw new RoleError('node metadata gateway_address must be a string');
  return {
    kind: 'gateway',
    address: address ?? defaults.gatewayAddress,
    port: portOf(md['gateway_port'], 'gateway_port') ?? defaults.gatewayPort,
  };
}

export function roleKey(role: Role): string {
  return `gateway:${role.address}:${role.port}`;
}
