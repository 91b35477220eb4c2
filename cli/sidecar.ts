// `meshgate sidecar`: run a sidecar Envoy next to one service instance, in the foreground. It
// renders envoy/sidecar.yaml and hands over to Envoy; its listeners, routes and clusters come
// from the xds-server. Register the instance in Consul with meta sidecar-port=<inbound port> so
// that other proxies reach it through this sidecar.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderBootstrapFile } from '../launcher/bootstrap.js';
import { sidecarVars } from '../launcher/envoy-roles.js';
import { repoRoot, toolPath } from '../launcher/repo.js';
import { SIDECAR_DEFAULTS } from '../xds-server/roles.js';
import { hostPort } from '../shared/host-port.js';

export interface SidecarArgs {
  readonly service: string;
  readonly appPort: number;
  readonly inboundPort?: number;
  readonly outboundPort?: number;
  readonly inboundAddress?: string;
  readonly adminPort: number;
  /** Its Prometheus stats listener (the xds-server adds it and registers the proxy). */
  readonly statsPort?: number;
  readonly xds: string;
  readonly delta: boolean;
  readonly nodeId?: string;
}

export function runSidecar(a: SidecarArgs): Promise<number> {
  const xds = hostPort(a.xds, '--xds');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `meshgate-sidecar-${a.service}-`));
  const bootstrap = renderBootstrapFile(
    path.join(repoRoot(), 'envoy', 'sidecar.yaml'),
    sidecarVars({
      nodeId: a.nodeId ?? `${a.service}-${os.hostname()}-${a.appPort}`,
      service: a.service,
      appPort: a.appPort,
      inboundPort: a.inboundPort ?? SIDECAR_DEFAULTS.inboundPort,
      outboundPort: a.outboundPort ?? SIDECAR_DEFAULTS.outboundPort,
      ...(a.inboundAddress ? { inboundAddress: a.inboundAddress } : {}),
      adminPort: a.adminPort,
      ...(a.statsPort ? { statsPort: a.statsPort } : {}),
      xds: { host: xds.host, port: xds.port, api: a.delta ? 'delta' : 'sotw' },
    }),
    path.join(dir, 'sidecar.yaml'),
  );
  process.stderr.write(`meshgate sidecar: ${bootstrap}\n`);
  const envoy = spawn(toolPath('envoy'), ['-c', bootstrap, '--disable-hot-restart', '--log-level', 'warning'], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => envoy.kill(signal));
  return new Promise((resolve) =>
    envoy.on('exit', (code, signal) => {
      fs.rmSync(dir, { recursive: true, force: true });
      resolve(code ?? (signal ? 128 : 1));
    }),
  );
}
