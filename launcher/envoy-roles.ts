// Envoys in meshgate's roles, from the bootstrap templates under envoy/: the edge gateway and a
// sidecar next to one service instance. One place knows each template's placeholders.
import { startEnvoy, type EnvoyProcess } from './envoy.js';

export type XdsApi = 'sotw' | 'delta';

const API_TYPE: Record<XdsApi, string> = { sotw: 'GRPC', delta: 'DELTA_GRPC' };

export interface XdsTarget {
  readonly host: string;
  readonly port: number;
  /** State of the world (the default) or delta. */
  readonly api?: XdsApi;
}

interface Common {
  readonly nodeId: string;
  readonly adminPort: number;
  /** The Prometheus stats listener's port (the xds-server adds it); none when absent. */
  readonly statsPort?: number;
  /** Where it listens: loopback unless a scraper elsewhere must reach it. */
  readonly statsAddress?: string;
  readonly xds: XdsTarget;
  readonly workDir: string;
  readonly logFile?: string;
  readonly concurrency?: number;
  readonly logLevel?: string;
  /** The overload manager's heap bound (the template's default otherwise). */
  readonly maxHeapBytes?: number;
}

export interface GatewayEnvoyOptions extends Common {
  readonly address?: string;
  readonly port: number;
}

export interface SidecarEnvoyOptions extends Common {
  readonly service: string;
  readonly appPort: number;
  readonly inboundAddress?: string;
  readonly inboundPort: number;
  readonly outboundPort: number;
}

function commonVars(o: Omit<Common, 'workDir'>): Record<string, string | number> {
  return {
    NODE_ID: o.nodeId,
    ADMIN_ADDRESS: '127.0.0.1',
    ADMIN_PORT: o.adminPort,
    STATS_ADDRESS: o.statsAddress ?? '127.0.0.1',
    STATS_PORT: o.statsPort ?? '',
    XDS_HOST: o.xds.host,
    XDS_PORT: o.xds.port,
    XDS_API_TYPE: API_TYPE[o.xds.api ?? 'sotw'],
    ...(o.maxHeapBytes ? { MAX_HEAP_BYTES: o.maxHeapBytes } : {}),
  };
}

export function gatewayVars(o: Omit<GatewayEnvoyOptions, 'workDir'>): Record<string, string | number> {
  return { ...commonVars(o), GATEWAY_ADDRESS: o.address ?? '127.0.0.1', GATEWAY_PORT: o.port };
}

export function sidecarVars(o: Omit<SidecarEnvoyOptions, 'workDir'>): Record<string, string | number> {
  return {
    ...commonVars(o),
    SERVICE: o.service,
    APP_PORT: o.appPort,
    INBOUND_ADDRESS: o.inboundAddress ?? '127.0.0.1',
    INBOUND_PORT: o.inboundPort,
    OUTBOUND_PORT: o.outboundPort,
  };
}

function processOptions(o: Common) {
  return {
    adminPort: o.adminPort,
    workDir: o.workDir,
    ...(o.logFile ? { logFile: o.logFile } : {}),
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
    ...(o.logLevel ? { logLevel: o.logLevel } : {}),
  };
}

export function startGatewayEnvoy(o: GatewayEnvoyOptions): Promise<EnvoyProcess> {
  return startEnvoy({ template: 'gateway.yaml', vars: gatewayVars(o), ...processOptions(o) });
}

export function startSidecarEnvoy(o: SidecarEnvoyOptions): Promise<EnvoyProcess> {
  return startEnvoy({ template: 'sidecar.yaml', vars: sidecarVars(o), ...processOptions(o) });
}
