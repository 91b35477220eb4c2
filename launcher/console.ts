// The console as a process (the demo and the browser test), on a free loopback port.
import { freePorts } from './ports.js';
import { startProcess, waitServing, type ManagedProcess } from './process.js';
import { distPath } from './repo.js';

export interface ConsoleProcess {
  readonly url: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export interface ConsoleOptions {
  readonly xdsAdmin: string;
  readonly prometheus?: string;
  readonly port?: number;
  /** Its gRPC access-log service's port (free one by default). */
  readonly grpcPort?: number;
  /** Registered in Consul as meshgate-console (the xds-server's --access-log-service finds it). */
  readonly consulAddress?: string;
  /** Without Prometheus: the console's own scrape interval. */
  readonly scrapeInterval?: string;
  /** Also served through the gateway at this path, behind this login and policy (registered when consulAddress is given). */
  readonly gateway?: { readonly path: string; readonly login?: string; readonly authPolicy?: string };
  readonly logFile?: string;
}

export async function startConsole(o: ConsoleOptions): Promise<ConsoleProcess> {
  const [free, freeGrpc] = (await freePorts(2)) as [number, number];
  const port = o.port ?? free;
  const proc = startProcess('console', process.execPath, {
    args: [
      distPath('console', 'main.js'),
      `--listen=127.0.0.1:${port}`,
      `--grpc=127.0.0.1:${o.grpcPort ?? freeGrpc}`,
      `--xds-admin=${o.xdsAdmin}`,
      ...(o.prometheus ? [`--prometheus=${o.prometheus}`] : []),
      ...(o.consulAddress ? [`--consul=${o.consulAddress}`, '--register'] : []),
      ...(o.scrapeInterval ? [`--scrape-interval=${o.scrapeInterval}`] : []),
      ...(o.gateway
        ? [`--gateway-path=${o.gateway.path}`, ...(o.gateway.login ? [`--login=${o.gateway.login}`] : []), ...(o.gateway.authPolicy ? [`--auth-policy=${o.gateway.authPolicy}`] : [])]
        : []),
    ],
    ...(o.logFile ? { logFile: o.logFile } : {}),
  });
  const url = `http://127.0.0.1:${port}/`;
  await waitServing(proc, 'the console', async () => (await fetch(`${url}healthz`).catch(() => undefined))?.ok === true, { timeoutMs: 15_000, intervalMs: 100 });
  return { url, process: proc, stop: () => proc.stop('SIGTERM', 5_000) };
}
