// meshgate's xds-server as a child process (the compiled dist/xds-server/main.js).
import { startProcess, type ManagedProcess } from './process.js';
import { distPath } from './repo.js';
import { waitFor } from './wait.js';

export interface XdsServerOptions {
  readonly consulAddress: string;
  readonly xdsPort: number;
  readonly adminPort: number;
  readonly gatewayPort?: number;
  readonly extraArgs?: readonly string[];
  readonly logFile?: string;
  readonly env?: Record<string, string>;
}

export interface XdsServerProcess {
  readonly process: ManagedProcess;
  readonly adminUrl: string;
  readonly xdsAddress: string;
  stop(): Promise<void>;
  getJson<T = unknown>(path: string): Promise<T>;
}

export async function startXdsServer(options: XdsServerOptions): Promise<XdsServerProcess> {
  const args = [
    distPath('xds-server', 'main.js'),
    `--consul=${options.consulAddress}`,
    `--xds=127.0.0.1:${options.xdsPort}`,
    `--admin=127.0.0.1:${options.adminPort}`,
    ...(options.gatewayPort ? [`--gateway-port=${options.gatewayPort}`] : []),
    ...(options.extraArgs ?? []),
  ];
  const proc = startProcess('xds-server', process.execPath, {
    args,
    ...(options.logFile ? { logFile: options.logFile } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  const adminUrl = `http://127.0.0.1:${options.adminPort}`;
  try {
    await waitFor(
      'xds-server admin to answer',
      async () => {
        if (!proc.running()) throw new Error(`xds-server exited: ${proc.tail()}`);
        return (await fetch(`${adminUrl}/healthz`)).ok;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return {
    process: proc,
    adminUrl,
    xdsAddress: `127.0.0.1:${options.xdsPort}`,
    stop: () => proc.stop('SIGTERM', 5_000),
    async getJson<T>(path: string): Promise<T> {
      const res = await fetch(`${adminUrl}${path}`);
      if (!res.ok) throw new Error(`xds-server ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
  };
}
