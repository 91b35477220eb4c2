// ghz (a gRPC load generator, from the Go module proxy) against a meshgate gRPC service, its JSON
// report reduced to the figures we print.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { createRequire } from 'node:module';
import { repoRoot } from '../../launcher/repo.js';

const require = createRequire(import.meta.url);

export interface GhzRun {
  readonly proto: string; // relative to the envoy-api protos
  readonly call: string;
  readonly data: unknown;
  readonly target: string;
  /** Requests per second; 0 for as fast as it can. */
  readonly rps: number;
  readonly seconds: number;
  readonly concurrency: number;
  readonly connections: number;
  /** Pin ghz to these CPUs (taskset list), so it does not share a core with the service. */
  readonly cpus?: string;
}

export interface GhzResult {
  readonly count: number;
  readonly rps: number;
  readonly p50ms: number;
  readonly p90ms: number;
  readonly p99ms: number;
  readonly okCount: number;
  readonly errors: Record<string, number>;
}

interface GhzReport {
  count: number;
  rps: number;
  latencyDistribution: Array<{ percentage: number; latency: number }> | null;
  statusCodeDistribution: Record<string, number> | null;
  errorDistribution: Record<string, number> | null;
}

function protoDirs(): string[] {
  const deps = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(deps, d));
}

export function ghz(run: GhzRun): Promise<GhzResult> {
  const ghzBin = path.join(repoRoot(), '.tools', 'bin', 'ghz');
  const args = [
    '--insecure',
    `--proto=${run.proto}`,
    `--import-paths=${protoDirs().join(',')}`,
    `--call=${run.call}`,
    `--data=${JSON.stringify(run.data)}`,
    `--rps=${run.rps}`,
    `--duration=${run.seconds}s`,
    '--duration-stop=wait',
    `--concurrency=${run.concurrency}`,
    `--connections=${run.connections}`,
    '--cpus=1',
    '--format=json',
    run.target,
  ];
  const [cmd, cmdArgs] = run.cpus ? ['taskset', ['-c', run.cpus, ghzBin, ...args]] : [ghzBin, args];
  return new Promise((resolve, reject) => {
    execFile(cmd, cmdArgs, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && !stdout) return reject(new Error(`ghz failed: ${stderr || err.message}`));
      const r = JSON.parse(stdout) as GhzReport;
      const pct = (p: number): number => (r.latencyDistribution?.find((l) => l.percentage === p)?.latency ?? NaN) / 1e6;
      resolve({
        count: r.count,
        rps: r.rps,
        p50ms: pct(50),
        p90ms: pct(90),
        p99ms: pct(99),
        okCount: r.statusCodeDistribution?.['OK'] ?? 0,
        errors: r.errorDistribution ?? {},
      });
    });
  });
}
