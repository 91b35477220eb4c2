// A process registering itself in Consul (so that the xds-server finds it) and deregistering
// when it stops. Health is checked by Consul: over HTTP, or over gRPC's health service.
import os from 'node:os';
import type { ConsulClient } from './client.js';
import { metricsMetaOf } from './metrics-meta.js';

export interface SelfRegistration {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly meta?: Record<string, string>;
  readonly tags?: string[];
  /** `{ http: url }` or `{ grpc: "host:port" }` (grpc.health.v1). */
  readonly check: { http: string } | { grpc: string };
  readonly checkInterval?: string;
}

export async function registerSelf(client: ConsulClient, r: SelfRegistration): Promise<() => Promise<void>> {
  const check: Record<string, unknown> = {
    name: `${r.id} health`,
    interval: r.checkInterval ?? '1s',
    timeout: '1s',
    deregistercriticalserviceafter: '10m',
    ...('http' in r.check ? { http: r.check.http } : { grpc: r.check.grpc }),
  };
  await client.consul.agent.service.register({
    id: r.id,
    name: r.name,
    address: r.address,
    port: r.port,
    tags: r.tags ?? [],
    meta: r.meta ?? {},
    check,
  } as never);
  return async () => {
    await client.consul.agent.service.deregister(r.id);
  };
}

/**
 * The address to register: the listen host, or — when listening on every interface (in a
 * container) — this machine's first non-loopback IPv4 address, since Envoy needs an IP.
 */
export function advertisedAddress(listenHost: string, advertise?: string): string {
  if (advertise) return advertise;
  if (listenHost !== '0.0.0.0' && listenHost !== '::') return listenHost;
  for (const addrs of Object.values(os.networkInterfaces())) {
    const v4 = addrs?.find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return v4.address;
  }
  return '127.0.0.1';
}

export interface InfrastructureRegistration {
  readonly id: string;
  readonly name: string;
  /** Where it listens (its registered address, unless `advertise` says otherwise). */
  readonly listenHost: string;
  readonly advertise?: string;
  readonly port: number;
  /** Its admin HTTP, where /metrics is. */
  readonly admin: { readonly host: string; readonly port: number };
  readonly check: (address: string) => SelfRegistration['check'];
  readonly meta?: Record<string, string>;
}

/**
 * A meshgate process registering itself as infrastructure (the components, the xds-server, the
 * console): gRPC, never routed by the gateway, with where Prometheus finds its metrics — its
 * admin's /metrics, at the registered address when the admin listens on every interface.
 */
export function registerInfrastructure(client: ConsulClient, r: InfrastructureRegistration): Promise<() => Promise<void>> {
  const address = advertisedAddress(r.listenHost, r.advertise);
  const wildcard = r.admin.host === '0.0.0.0' || r.admin.host === '::';
  return registerSelf(client, {
    id: r.id,
    name: r.name,
    address,
    port: r.port,
    meta: { protocol: 'grpc', 'gateway-path': 'none', ...metricsMetaOf(wildcard ? address : r.admin.host, r.admin.port, '/metrics'), ...r.meta },
    check: r.check(address),
  });
}

export interface GatewayRoutedRegistration {
  readonly id: string;
  readonly name: string;
  readonly listenHost: string;
  readonly advertise?: string;
  readonly port: number;
  /** The gateway paths it is routed at, comma-separated (its meta `gateway-path`). */
  readonly gatewayPath: string;
  /** More service meta: `auth-policy`, `login`, … */
  readonly meta?: Record<string, string>;
  /** The path Consul's HTTP check reads. */
  readonly checkPath: string;
}

/**
 * A meshgate process's HTTP endpoint that the gateway routes to (ext-authz's token endpoint, the
 * console's page): plain HTTP, at its gateway paths, checked over HTTP at its address.
 */
export function registerGatewayRouted(client: ConsulClient, r: GatewayRoutedRegistration): Promise<() => Promise<void>> {
  const address = advertisedAddress(r.listenHost, r.advertise);
  return registerSelf(client, {
    id: r.id,
    name: r.name,
    address,
    port: r.port,
    meta: { protocol: 'http', 'gateway-path': r.gatewayPath, ...r.meta },
    check: { http: `http://${address}:${r.port}${r.checkPath}` },
  });
}
