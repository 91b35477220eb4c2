// A real Prometheus on loopback (Debian's package, from the set-up step) with meshgate's
// generated configuration and rules, its data in a temporary directory, asked through the
// console's own client of its HTTP API.
import fs from 'node:fs';
import path from 'node:path';
import type { Sourced } from '../console/sources/fetch-json.js';
import { PrometheusSource, type InstantSample, type PromAlert, type PromTarget } from '../console/sources/prometheus.js';
import { writePrometheusConfig } from '../observability/write.js';
import type { PrometheusConfigOptions } from '../observability/prometheus-config.js';
import type { RuleOptions } from '../observability/rules.js';
import { freePorts } from './ports.js';
import { startProcess, waitServing, type ManagedProcess } from './process.js';
import { toolPath } from './repo.js';

export interface PrometheusOptions {
  readonly dir: string;
  readonly config: Omit<PrometheusConfigOptions, 'ruleFiles'>;
  readonly rules?: RuleOptions;
  readonly port?: number;
  readonly logFile?: string;
}

export interface PrometheusServer {
  readonly url: string;
  readonly process: ManagedProcess;
  /** Prometheus' HTTP API, as the console asks it; the calls below throw where it says why. */
  readonly api: PrometheusSource;
  query(expr: string): Promise<InstantSample[]>;
  alerts(): Promise<PromAlert[]>;
  /** Targets Prometheus scrapes, with their health and last error. */
  targets(): Promise<PromTarget[]>;
  stop(): Promise<void>;
}

const orThrow = <T>(r: Sourced<T>): T => {
  if (!r.ok) throw new Error(`${r.source}: ${r.reason}`);
  return r.data;
};

export async function startPrometheus(o: PrometheusOptions): Promise<PrometheusServer> {
  const port = o.port ?? (await freePorts(1))[0]!;
  const confDir = path.join(o.dir, 'prometheus');
  const [config] = writePrometheusConfig(confDir, o.config, o.rules);
  const proc = startProcess('prometheus', toolPath('prometheus'), {
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(confDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    ...(o.logFile ? { logFile: o.logFile } : {}),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitServing(proc, 'Prometheus ready', async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true, { timeoutMs: 30_000, intervalMs: 200 });
  const api = new PrometheusSource(url, 10_000);
  return {
    url,
    process: proc,
    api,
    query: async (expr) => orThrow(await api.instant(expr)),
    alerts: async () => orThrow(await api.alerts()),
    targets: async () => orThrow(await api.targets()),
    async stop() {
      await proc.stop('SIGTERM', 5_000);
      fs.rmSync(path.join(confDir, 'data'), { recursive: true, force: true });
    },
  };
}
