// wrk (Debian's, installed by `setup.sh --bench`) against one URL: requests/s, p50 and p99.
import { execFileSync } from 'node:child_process';
import { toolPath } from '../../launcher/repo.js';
import { median } from './grpc-load.js';
import { cpuSplit } from './proc.js';

export interface WrkResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** Answers other than 2xx and 3xx (wrk's count). */
  readonly non2xx: number;
}

let pinnedTo: string | undefined;

/** Run wrk under `taskset -c cpus` from now on (a load generator on a core of its own). */
export function pinWrk(cpus: string): void {
  pinnedTo = cpus;
}

/** `script`: a wrk Lua file (a POST body, say). */
export function wrk(url: string, headers: Record<string, string>, connections: number, seconds: number, script?: string): WrkResult {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...(script ? ['-s', script] : []), ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
  const text = pinnedTo ? execFileSync('taskset', ['-c', pinnedTo, toolPath('wrk'), ...args], { encoding: 'utf8' }) : execFileSync(toolPath('wrk'), args, { encoding: 'utf8' });
  const ms = (label: string): number => {
    const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)`, 'm').exec(text);
    if (!m) return NaN;
    return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as const)[m[2] as 'us' | 'ms' | 's'];
  };
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN), p50: ms('50%'), p99: ms('99%'), non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0) };
}

/** A wrk run with the CPU each named process spent per request (µs; `<name> (kernel)` the system part). */
export type WrkCpuRun = WrkResult & { readonly cpu: Readonly<Record<string, number>> };

export function wrkWithCpu(url: string, headers: Record<string, string>, connections: number, seconds: number, pids: Readonly<Record<string, number>>, script?: string): WrkCpuRun {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSplit(pid)]));
  const r = wrk(url, headers, connections, seconds, script);
  const perRequest = (s: number) => (s / (r.rps * seconds)) * 1e6;
  const cpu: Record<string, number> = {};
  for (const [k, pid] of Object.entries(pids)) {
    const now = cpuSplit(pid);
    cpu[k] = perRequest(now.user - before[k]!.user + now.system - before[k]!.system);
    cpu[`${k} (kernel)`] = perRequest(now.system - before[k]!.system);
  }
  return { ...r, cpu };
}

/** The medians of repeated runs, figure by figure. */
export function medianRun(runs: readonly WrkCpuRun[]): WrkCpuRun {
  return {
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    non2xx: median(runs.map((r) => r.non2xx)),
    cpu: Object.fromEntries(Object.keys(runs[0]!.cpu).map((k) => [k, median(runs.map((r) => r.cpu[k]!))])),
  };
}
