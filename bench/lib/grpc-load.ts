// bench/grpc-load (a lean gRPC load generator in Go, built by `scripts/setup.sh --bench`)
// against any gRPC server: pre-encoded requests, open-loop fixed rates or closed-loop maximum.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../launcher/repo.js';
import { fmt } from './stats.js';

export interface LoadRun {
  readonly target: string;
  /** "/package.Service/Method". */
  readonly method: string;
  /** A file written by writeBodies. */
  readonly bodies: string;
  /** Calls per second, scheduled open-loop; 0 for as fast as the workers go. */
  readonly rps: number;
  readonly seconds: number;
  readonly concurrency: number;
  readonly connections: number;
  /** Pin the generator to these CPUs (taskset list). */
  readonly cpus?: string;
}

export interface LoadResult {
  readonly count: number;
  readonly ok: number;
  readonly errors: Record<string, number>;
  readonly rps: number;
  readonly p50ms: number;
  readonly p90ms: number;
  readonly p99ms: number;
  readonly p999ms: number;
  readonly maxms: number;
}

/** The request messages the generator cycles through, each prefixed by its length. */
export function writeBodies(file: string, messages: readonly Uint8Array[]): void {
  fs.writeFileSync(
    file,
    Buffer.concat(
      messages.flatMap((m) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(m.length);
        return [len, m];
      }),
    ),
  );
}

export function grpcLoad(run: LoadRun): Promise<LoadResult> {
  const bin = path.join(repoRoot(), '.tools', 'bin', 'grpc-load');
  const args = [
    `-target=${run.target}`,
    `-method=${run.method}`,
    `-bodies=${run.bodies}`,
    `-rps=${run.rps}`,
    `-duration=${run.seconds}s`,
    `-concurrency=${run.concurrency}`,
    `-connections=${run.connections}`,
  ];
  const [cmd, cmdArgs] = run.cpus ? ['taskset', ['-c', run.cpus, bin, ...args]] : [bin, args];
  return new Promise((resolve, reject) => {
    execFile(cmd, cmdArgs, { maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`grpc-load failed: ${stderr || err.message}`));
      resolve(JSON.parse(stdout) as LoadResult);
    });
  });
}

/**
 * `run` for every target in turn, `reps` times over, so that a slow spell of the machine falls
 * on all of them alike; each target's results in the order they ran.
 */
export async function inTurns<T, R>(targets: readonly T[], reps: number, run: (target: T) => Promise<R>): Promise<Map<T, R[]>> {
  const results = new Map<T, R[]>(targets.map((t) => [t, []]));
  for (let rep = 0; rep < reps; rep++) for (const t of targets) results.get(t)!.push(await run(t));
  return results;
}

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Several runs at one setting, summed up: medians, and the range of the p99. */
export function runsSummary(runs: readonly LoadResult[]): string {
  const p99s = runs.map((r) => r.p99ms);
  const errors = runs.flatMap((r) => Object.entries(r.errors).map(([k, v]) => `${k} ${v}`));
  return (
    `${String(Math.round(median(runs.map((r) => r.rps)))).padStart(6)}/s  p50 ${fmt(median(runs.map((r) => r.p50ms))).padStart(5)}  ` +
    `p99 ${fmt(median(p99s)).padStart(5)} (${fmt(Math.min(...p99s))}–${fmt(Math.max(...p99s))})  p99.9 ${fmt(median(runs.map((r) => r.p999ms))).padStart(5)} ms` +
    `${errors.length ? `  errors ${errors.join(', ')}` : ''}`
  );
}
