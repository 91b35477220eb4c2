// A real Prometheus on loopback (Debian's package, from the set-up step) with meshgate's
// generated configuration and rules, its data in a temporary directory, and the two HTTP API
// calls the tests and the console make: an instant query, and the alerts.
import fs from 'node:fs';
import path from 'node:path';
import { writePrometheusConfig } from '../observability/write.js';
import type { PrometheusConfigOptions } from '../observability/prometheus-config.js';
import type { RuleOptions } from '../observability/rules.js';
import { freePorts } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';
import { toolPath } from './repo.js';
import { waitFor } from './wait.js';

export interface PrometheusOptions {
  readonly dir: string;
  readonly config: Omit<PrometheusConfigOptions, 'ruleFiles'>;
  readonly rules?: RuleOptions;
  readonly port?: number;
  readonly logFile?: string;
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export interface PromAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: 'pending' | 'firing';
}

export interface PrometheusServer {
  readonly url: string;
  readonly process: ManagedProcess;
  query(expr: string): Promise<PromSample[]>;
  alerts(): Promise<PromAlert[]>;
  /** Targets Prometheus scrapes, with their health and last error. */
  targets(): Promise<Array<{ labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }>>;
  stop(): Promise<void>;
}

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
  await waitFor(
    'Prometheus ready',
    async () => {
      if (!proc.running()) throw new Error(`prometheus exited: ${proc.tail()}`);
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const api = async <T>(p: string): Promise<T> => {
    const r = await fetch(`${url}${p}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await r.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${p}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    process: proc,
    async query(expr) {
      const data = await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async alerts() {
      return (await api<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts;
    },
    async targets() {
      return (await api<{ activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }> }>('/api/v1/targets')).activeTargets;
    },
    async stop() {
      await proc.stop('SIGTERM', 5_000);
      fs.rmSync(path.join(confDir, 'data'), { recursive: true, force: true });
    },
  };
}
