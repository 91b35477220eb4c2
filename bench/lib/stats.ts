// Percentiles and the description of the machine a benchmark ran on.
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    min: s[0] ?? NaN,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? NaN,
    mean: s.reduce((a, b) => a + b, 0) / (s.length || 1),
  };
}

export function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

export function summaryLine(label: string, s: Summary, unit = 'ms'): string {
  return `${label.padEnd(44)} n=${s.n}  p50=${fmt(s.p50)}${unit}  p90=${fmt(s.p90)}${unit}  p99=${fmt(s.p99)}${unit}  max=${fmt(s.max)}${unit}`;
}

function tryVersion(cmd: string, args: string[]): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n').map((l) => l.trim()).find(Boolean) ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** What the figures were measured on, printed with every benchmark. */
export function machineDescription(tools: Record<string, string> = {}): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  const lines = [
    `machine: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}`,
    `node ${process.version}`,
    ...Object.entries(tools).map(([name, bin]) => `${name}: ${tryVersion(bin, name === 'consul' ? ['version'] : ['--version'])}`),
  ];
  return lines.join('\n');
}
