// meshgate's ratelimit-service as a child process.
import { Component, runOptions, type RunOptions } from './component.js';

export interface RatelimitOptions extends RunOptions {
  readonly port: number;
  readonly adminPort: number;
  readonly configPaths?: readonly string[];
  readonly consulAddress?: string;
  readonly consulPrefix?: string;
  readonly register?: boolean;
  readonly redisUrl?: string;
  readonly extraArgs?: readonly string[];
  readonly waitReady?: boolean;
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
    ...runOptions(options),
  }).start();
}
