// A real Envoy from a meshgate bootstrap template, and its admin API.
import path from 'node:path';
import { renderBootstrapFile } from './bootstrap.js';
import { startProcess, waitServing, type ManagedProcess } from './process.js';
import { repoRoot, toolPath } from './repo.js';

export interface EnvoyOptions {
  /** Template under envoy/, e.g. "gateway.yaml". */
  readonly template: string;
  readonly vars: Readonly<Record<string, string | number>>;
  readonly adminPort: number;
  /** Where the rendered bootstrap goes. */
  readonly workDir: string;
  readonly logFile?: string;
  readonly concurrency?: number;
  readonly logLevel?: string;
}

export class EnvoyAdmin {
  constructor(readonly baseUrl: string) {}

  async get(pathAndQuery: string): Promise<string> {
    const res = await fetch(`${this.baseUrl}${pathAndQuery}`);
    if (!res.ok) throw new Error(`envoy admin ${pathAndQuery}: ${res.status}`);
    return res.text();
  }

  async configDump(includeEds = true): Promise<{ configs: Array<Record<string, unknown>> }> {
    return JSON.parse(await this.get(`/config_dump${includeEds ? '?include_eds' : ''}`));
  }

  /** Cluster → host address → health flags, from /clusters?format=json. */
  async clusters(): Promise<Map<string, Array<{ address: string; healthy: boolean; hostname: string }>>> {
    const body = JSON.parse(await this.get('/clusters?format=json')) as {
      cluster_statuses?: Array<{
        name: string;
        host_statuses?: Array<{
          address: { socket_address: { address: string; port_value: number } };
          hostname?: string;
          health_status: { eds_health_status?: string; failed_outlier_check?: boolean; failed_active_health_check?: boolean };
        }>;
      }>;
    };
    const out = new Map<string, Array<{ address: string; healthy: boolean; hostname: string }>>();
    for (const c of body.cluster_statuses ?? []) {
      out.set(
        c.name,
        (c.host_statuses ?? []).map((h) => ({
          address: `${h.address.socket_address.address}:${h.address.socket_address.port_value}`,
          hostname: h.hostname ?? '',
          healthy:
            (h.health_status.eds_health_status ?? 'HEALTHY') === 'HEALTHY' &&
            !h.health_status.failed_outlier_check &&
            !h.health_status.failed_active_health_check,
        })),
      );
    }
    return out;
  }

  async stat(name: string): Promise<number | undefined> {
    const text = await this.get(`/stats?filter=^${name.replace(/\./g, '\\.')}$`);
    const m = /: (\d+)/.exec(text);
    return m ? Number(m[1]) : undefined;
  }
}

export interface EnvoyProcess {
  readonly admin: EnvoyAdmin;
  readonly process: ManagedProcess;
  readonly bootstrapPath: string;
  stop(): Promise<void>;
}

export async function startEnvoy(options: EnvoyOptions): Promise<EnvoyProcess> {
  const bootstrapPath = renderBootstrapFile(
    path.join(repoRoot(), 'envoy', options.template),
    options.vars,
    path.join(options.workDir, `envoy-${options.adminPort}.yaml`),
  );
  const proc = startProcess('envoy', toolPath('envoy'), {
    args: [
      '-c', bootstrapPath,
      // Several Envoys on one machine: no shared-memory hot restart between them.
      '--disable-hot-restart',
      '--log-level', options.logLevel ?? 'warning',
      // ext_proc warns once per call it fails — each refusal at a model's door, under a flood
      // thousands a second — on the worker's own time; the access log (details) and the
      // filter's stats say the same.
      ...(options.logLevel === undefined ? ['--component-log-level', 'ext_proc:error'] : []),
      '--concurrency', String(options.concurrency ?? 1),
      // The stdout access log reaches the log file within a second (Envoy's default is ten).
      '--file-flush-interval-msec', '1000',
    ],
    ...(options.logFile ? { logFile: options.logFile } : {}),
  });
  const admin = new EnvoyAdmin(`http://127.0.0.1:${options.adminPort}`);
  await waitServing(proc, 'envoy admin to answer', async () => (await admin.get('/server_info')).length > 0, { timeoutMs: 15_000, intervalMs: 100 }, { signal: 'SIGKILL', graceMs: 5_000 });
  return { admin, process: proc, bootstrapPath, stop: () => proc.stop('SIGTERM', 5_000) };
}
