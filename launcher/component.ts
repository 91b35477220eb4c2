// A meshgate component (xds-server, ext-authz, ratelimit-service) as a child process: its
// compiled entry point, started with flags, up once its admin /healthz answers (and /readyz,
// when asked). It can be restarted with the same flags.
import nodePath from 'node:path';
import { startProcess, type ManagedProcess } from './process.js';
import { distPath } from './repo.js';
import { waitFor } from './wait.js';

export interface ComponentOptions {
  /** Path under dist/, e.g. ['ext-authz', 'main.js']. */
  readonly entry: readonly string[];
  readonly args: readonly string[];
  readonly adminPort: number;
  readonly logFile?: string;
  /** Environment for the process, e.g. REDIS_AUTH (a secret stays off the command line). */
  readonly env?: Record<string, string>;
  /** Also wait for /readyz to answer 200. */
  readonly waitReady?: boolean;
  /** Pin to these CPUs (a taskset list such as "0"), for benchmarks. */
  readonly cpus?: string;
  /** Node flags before the entry point (e.g. --cpu-prof, which NODE_OPTIONS may not carry). */
  readonly nodeArgs?: readonly string[];
  /** Another build's dist/ (a benchmark's baseline), instead of this repository's. */
  readonly distRoot?: string;
}

/** How a launcher's caller runs the component, beside its flags (log, CPUs, node flags, another build). */
export type RunOptions = Pick<ComponentOptions, 'logFile' | 'env' | 'cpus' | 'nodeArgs' | 'distRoot'>;

/** The run options that are set, to spread into ComponentOptions. */
export function runOptions(o: RunOptions): RunOptions {
  return {
    ...(o.logFile ? { logFile: o.logFile } : {}),
    ...(o.env ? { env: o.env } : {}),
    ...(o.cpus ? { cpus: o.cpus } : {}),
    ...(o.nodeArgs ? { nodeArgs: o.nodeArgs } : {}),
    ...(o.distRoot ? { distRoot: o.distRoot } : {}),
  };
}

export class Component {
  readonly adminUrl: string;
  private proc: ManagedProcess | undefined;

  constructor(
    readonly name: string,
    private readonly options: ComponentOptions,
  ) {
    this.adminUrl = `http://127.0.0.1:${options.adminPort}`;
  }

  get process(): ManagedProcess {
    if (!this.proc) throw new Error(`${this.name} is not running`);
    return this.proc;
  }

  async start(): Promise<this> {
    const entry = this.options.distRoot ? nodePath.join(this.options.distRoot, ...this.options.entry) : distPath(...this.options.entry);
    const args = [...(this.options.nodeArgs ?? []), entry, ...this.options.args];
    const [command, commandArgs] = this.options.cpus ? ['taskset', ['-c', this.options.cpus, process.execPath, ...args]] : [process.execPath, args];
    const proc = startProcess(this.name, command, {
      args: commandArgs,
      ...(this.options.logFile ? { logFile: this.options.logFile } : {}),
      ...(this.options.env ? { env: this.options.env } : {}),
    });
    this.proc = proc;
    const path = this.options.waitReady ? '/readyz' : '/healthz';
    try {
      await waitFor(
        `${this.name} ${path} to answer`,
        async () => {
          if (!proc.running()) throw new Error(`${this.name} exited: ${proc.tail()}`);
          return (await fetch(`${this.adminUrl}${path}`)).ok;
        },
        { timeoutMs: 15_000, intervalMs: 100 },
      );
    } catch (err) {
      await proc.stop('SIGKILL');
      throw err;
    }
    return this;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc?.stop(signal, 5_000);
  }

  async getJson<T = unknown>(path: string): Promise<T> {
    const res = await fetch(`${this.adminUrl}${path}`);
    if (!res.ok) throw new Error(`${this.name} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }
}
