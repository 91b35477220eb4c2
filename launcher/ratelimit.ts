// meshgate's ratelimit-service as a child process.
import { Component } from './component.js';

export interface RatelimitOptions {
  readonly port: number;
  readonly adminPort: number;
  readonly configPaths?: readonly string[];
  readonly consulAddress?: string;
  readonly consulPrefix?: string;
  readonly register?: boolean;
  readonly redisUrl?: string;
  readonly extraArgs?: readonly string[];
  readonly logFile?: string;
  readonly waitReady?: boolean;
  readonly cpus?: string;
  readonly nodeArgs?: readonly string[];
  /** Another build's dist/ (a benchmark's baseline). */
  readonly distRoot?: string;
  /** Environment for the process, e.g. REDIS_AUTH (a secret stays off the command line). */
  readonly env?: Record<string, string>;
}

export async function startRatelimit(options: RatelimitOptions): Promise<Component> {
  const args = [
    `--listen=127.0.0.1:${options.port}`,
    `--admin=127.0.0.1:${options.adminPort}`,
    ...(options.configPaths ?? []).map((p) => `--config=${p}`),
    ...(options.consulAddress ? [`--consul=${options.consulAddress}`] : []),
    ...(options.consulPrefix ? [`--consul-prefix=${options.consulPrefix}`] : []),
    ...(options.register ? ['--register'] : []),
    ...(options.redisUrl ? ['--backend=redis', `--redis=${options.redisUrl}`] : []),
    ...(options.extraArgs ?? []),
  ];
  return new Component('ratelimit-service', {
    entry: ['ratelimit-service', 'main.js'],
    args,
    adminPort: options.adminPort,
    waitReady: options.waitReady ?? true,
    ...(options.logFile ? { logFile: options.logFile } : {}),
    ...(options.cpus ? { cpus: options.cpus } : {}),
    ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
    ...(options.distRoot ? { distRoot: options.distRoot } : {}),
    ...(options.env ? { env: options.env } : {}),
  }).start();
}
