// CPU time a process has used, from /proc (Linux): to turn throughput into work per CPU-second
// when the load generator, not the service, is what saturates first.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let ticks: number | undefined;

export function cpuSeconds(pid: number): number {
  const { user, system } = cpuSplit(pid);
  return user + system;
}

/** Resident memory of a process, in bytes (0 once it is gone). */
export function rssBytes(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** CPU seconds in user space and in the kernel (system calls, and on loopback the TCP work of both ends). */
export function cpuSplit(pid: number): { user: number; system: number } {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / ticks, system: Number(fields[12]) / ticks }; // utime, stime
}
