// meshgate's xds-server as a child process.
import { Component } from './component.js';

export interface XdsServerOptions {
  readonly consulAddress: string;
  readonly xdsPort: number;
  readonly adminPort: number;
  readonly gatewayPort?: number;
  readonly extraArgs?: readonly string[];
  readonly logFile?: string;
  readonly env?: Record<string, string>;
  readonly nodeArgs?: readonly string[];
  /** Run another build's xds-server (a baseline checkout's dist/), for side-by-side benchmarks. */
  readonly distRoot?: string;
}

export type XdsServerProcess = Component & { readonly xdsAddress: string };

export async function startXdsServer(options: XdsServerOptions): Promise<XdsServerProcess> {
  const c = new Component('xds-server', {
    entry: ['xds-server', 'main.js'],
    args: [
      `--consul=${options.consulAddress}`,
      `--xds=127.0.0.1:${options.xdsPort}`,
      `--admin=127.0.0.1:${options.adminPort}`,
      ...(options.gatewayPort ? [`--gateway-port=${options.gatewayPort}`] : []),
      ...(options.extraArgs ?? []),
    ],
    adminPort: options.adminPort,
    ...(options.logFile ? { logFile: options.logFile } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
    ...(options.distRoot ? { distRoot: options.distRoot } : {}),
  });
  await c.start();
  return Object.assign(c, { xdsAddress: `127.0.0.1:${options.xdsPort}` });
}
