// CPU time a process has used, from /proc (Linux): to turn throughput into work per CPU-second
// when the load generator, not the service, is what saturates first.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let ticks: number | undefined;

export function cpuSeconds(pid: number): number {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticks; // utime + stime
}
