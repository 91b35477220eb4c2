// Child processes that are always stopped: each one is recorded, `stop()` sends SIGTERM and
// then SIGKILL after a grace period, and every process still running when this process exits
// (a test failing, Ctrl-C) is killed.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { waitFor } from './wait.js';

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  readonly running: () => boolean;
  /** The last lines it wrote, for error messages. */
  readonly tail: () => string;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export interface StartOptions {
  readonly args?: readonly string[];
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  /**
   * Append stdout and stderr to this file, written by the process itself (else they pass through
   * this process and are only kept in memory, briefly).
   */
  readonly logFile?: string;
  /** Also copy output to this process's stderr. */
  readonly echo?: boolean;
}

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) {
      try {
        p.child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

export function startProcess(name: string, command: string, options: StartOptions = {}): ManagedProcess {
  installExitHook();
  // With a log file and nothing to echo, the child writes into the file itself: through a pipe,
  // its output waits for this process to read it, and a parent busy in a synchronous call (a
  // bench running wrk) left Envoy's worker blocked on a full pipe after 64 KiB of warnings.
  const logFile = options.logFile;
  const direct = logFile !== undefined && !options.echo ? fs.openSync(logFile, 'a') : undefined;
  let child: ChildProcess;
  try {
    child = spawn(command, options.args ?? [], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', direct ?? 'pipe', direct ?? 'pipe'],
    });
  } finally {
    if (direct !== undefined) fs.closeSync(direct);
  }
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const lines: string[] = [];
  const log = logFile !== undefined && direct === undefined ? fs.createWriteStream(logFile, { flags: 'a' }) : undefined;
  const collect = (chunk: Buffer): void => {
    log?.write(chunk);
    if (options.echo) process.stderr.write(chunk);
    for (const line of chunk.toString().split('\n')) if (line) lines.push(line);
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let alive = true;
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      alive = false;
      live.delete(managed);
      log?.end();
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const managed: ManagedProcess = {
    name,
    child,
    pid: child.pid,
    exited,
    running: () => alive,
    tail: () => (direct !== undefined ? lastLines(logFile!, 40) : lines.slice(-40).join('\n')),
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000) {
      if (!alive) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(managed);
  return managed;
}

/**
 * Waits until `ready()` says the process serves. If it exits first, the error carries its last
 * output; if it never does, it is stopped (`signal`, then SIGKILL after `graceMs`) before the
 * error is thrown — no process is left behind.
 */
export async function waitServing(
  proc: ManagedProcess,
  what: string,
  ready: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs: number },
  stopWith: { readonly signal: NodeJS.Signals; readonly graceMs: number } = { signal: 'SIGTERM', graceMs: 3_000 },
): Promise<void> {
  try {
    await waitFor(
      what,
      async () => {
        if (!proc.running()) throw new Error(`${proc.name} exited: ${proc.tail()}`);
        return ready();
      },
      options,
    );
  } catch (err) {
    await proc.stop(stopWith.signal, stopWith.graceMs);
    throw err;
  }
}

/** The last `n` lines of a file (its last 64 KiB read), for error messages. */
function lastLines(file: string, n: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const length = Math.min(size, 65_536);
      const buf = Buffer.alloc(length);
      fs.readSync(fd, buf, 0, length, size - length);
      return buf.toString().split('\n').filter(Boolean).slice(-n).join('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}
