// Spring Cloud Netflix's Eureka server (built by scripts/setup.sh into .tools/), on loopback.
import fs from 'node:fs';
import path from 'node:path';
import { startProcess, waitServing, type ManagedProcess } from './process.js';
import { repoRoot } from './repo.js';

export interface EurekaServerOptions {
  readonly port: number;
  readonly logFile?: string;
}

export function eurekaServerJar(): string {
  const jar = path.join(repoRoot(), '.tools', 'eureka-server', 'eureka-server.jar');
  if (!fs.existsSync(jar)) throw new Error(`the Eureka server is not built at ${jar}: run \`npm run setup\``);
  return jar;
}

export class EurekaServer {
  private proc: ManagedProcess | undefined;

  constructor(private readonly options: EurekaServerOptions) {}

  /** The REST base its clients and meshgate use. */
  get url(): string {
    return `http://127.0.0.1:${this.options.port}/eureka`;
  }

  async start(): Promise<this> {
    // One core's worth of JIT threads and a small heap: it shares two cores with the whole mesh.
    const proc = startProcess('eureka', 'java', {
      args: ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-jar', eurekaServerJar(), `--server.port=${this.options.port}`],
      ...(this.options.logFile ? { logFile: this.options.logFile } : {}),
    });
    this.proc = proc;
    await waitServing(
      proc,
      'the eureka server to answer /eureka/apps',
      async () => (await fetch(`${this.url}/apps`, { headers: { accept: 'application/json' } }).catch(() => undefined))?.ok === true,
      { timeoutMs: 90_000, intervalMs: 200 },
      { signal: 'SIGTERM', graceMs: 5_000 },
    );
    return this;
  }

  async stop(): Promise<void> {
    await this.proc?.stop('SIGTERM', 5_000);
    this.proc = undefined;
  }

  /** The registry as its REST API answers (JSON). */
  async apps(): Promise<unknown> {
    const res = await fetch(`${this.url}/apps`, { headers: { accept: 'application/json' } });
    return res.json();
  }
}
