// The reference envoyproxy/ratelimit (Go), built by the set-up step into .tools/bin, as a child
// process on Redis: for the differential test and the benchmark. Its config directory is
// RUNTIME_ROOT/ratelimit/config (every file in it), as its runtime loader reads it.
import fs from 'node:fs';
import path from 'node:path';
import { freePorts } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';
import { repoRoot } from './repo.js';
import { waitFor } from './wait.js';

export interface ReferenceRatelimitOptions {
  readonly grpcPort: number;
  readonly redisUrl: string;
  /** The config files to load, copied into its runtime directory. */
  readonly configFiles: ReadonlyArray<{ readonly name: string; readonly text: string }>;
  readonly workDir: string;
  readonly logFile?: string;
  /** Run it under `taskset -c CPUS`. */
  readonly cpus?: string;
  readonly env?: Record<string, string>;
}

export interface ReferenceRatelimit {
  readonly process: ManagedProcess;
  /** Its HTTP port (/json, /healthcheck). */
  readonly httpPort: number;
  readonly debugPort: number;
  stop(): Promise<void>;
}

export function referenceBinary(): string {
  const bin = process.env['RATELIMIT_REFERENCE_BIN'] || path.join(repoRoot(), '.tools', 'bin', 'ratelimit-reference');
  if (!fs.existsSync(bin)) throw new Error(`the reference ratelimit is not at ${bin}: run \`npm run setup\` or set RATELIMIT_REFERENCE_BIN`);
  return bin;
}

export async function startReferenceRatelimit(o: ReferenceRatelimitOptions): Promise<ReferenceRatelimit> {
  const [httpPort, debugPort] = (await freePorts(2)) as [number, number];
  const runtime = path.join(o.workDir, 'reference-runtime');
  const configDir = path.join(runtime, 'ratelimit', 'config');
  fs.mkdirSync(configDir, { recursive: true });
  for (const f of o.configFiles) fs.writeFileSync(path.join(configDir, f.name), f.text);
  const bin = referenceBinary();
  const env = {
    USE_STATSD: 'false',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(httpPort),
    DEBUG_HOST: '127.0.0.1',
    DEBUG_PORT: String(debugPort),
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: String(o.grpcPort),
    RUNTIME_ROOT: runtime,
    RUNTIME_SUBDIRECTORY: 'ratelimit',
    RUNTIME_APPDIRECTORY: 'config',
    RUNTIME_WATCH_ROOT: 'false',
    REDIS_SOCKET_TYPE: 'tcp',
    REDIS_URL: o.redisUrl,
    BACKEND_TYPE: 'redis',
    ...o.env,
  };
  const p = o.cpus
    ? startProcess('ratelimit-reference', 'taskset', { args: ['-c', o.cpus, bin], env, ...(o.logFile ? { logFile: o.logFile } : {}) })
    : startProcess('ratelimit-reference', bin, { env, ...(o.logFile ? { logFile: o.logFile } : {}) });
  try {
    await waitFor(
      'the reference ratelimit to be healthy',
      async () => {
        if (!p.running()) throw new Error(`the reference ratelimit exited: ${p.tail()}`);
        return (await fetch(`http://127.0.0.1:${httpPort}/healthcheck`).catch(() => undefined))?.ok ?? false;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  } catch (err) {
    await p.stop('SIGKILL');
    throw err;
  }
  return { process: p, httpPort, debugPort, stop: () => p.stop() };
}
