// wrk (Debian's, installed by `setup.sh --bench`) against one URL: requests/s, p50 and p99.
import { execFileSync } from 'node:child_process';
import { toolPath } from '../../launcher/repo.js';

export interface WrkResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
}

/** `script`: a wrk Lua file (a POST body, say). */
export function wrk(url: string, headers: Record<string, string>, connections: number, seconds: number, script?: string): WrkResult {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...(script ? ['-s', script] : []), ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
  const text = execFileSync(toolPath('wrk'), args, { encoding: 'utf8' });
  const ms = (label: string): number => {
    const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)`, 'm').exec(text);
    if (!m) return NaN;
    return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as const)[m[2] as 'us' | 'ms' | 's'];
  };
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN), p50: ms('50%'), p99: ms('99%') };
}
