// meshgate's LLM processor (ext-proc) as a child process, registered in Consul when given a
// Consul address.
import { Component } from './component.js';

export interface ExtProcOptions {
  readonly port: number;
  readonly adminPort: number;
  readonly consulAddress?: string;
  readonly extraArgs?: readonly string[];
  readonly logFile?: string;
  readonly cpus?: string;
  readonly nodeArgs?: readonly string[];
  /** Another build's dist/ (a benchmark's baseline). */
  readonly distRoot?: string;
}

export async function startExtProc(options: ExtProcOptions): Promise<Component> {
  const args = [
    `--listen=127.0.0.1:${options.port}`,
    `--admin=127.0.0.1:${options.adminPort}`,
    ...(options.consulAddress ? [`--consul=${options.consulAddress}`, '--register'] : []),
    ...(options.extraArgs ?? []),
  ];
  return new Component('ext-proc', {
    entry: ['ext-proc', 'main.js'],
    args,
    adminPort: options.adminPort,
    waitReady: true,
    ...(options.cpus ? { cpus: options.cpus } : {}),
    ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
    ...(options.logFile ? { logFile: options.logFile } : {}),
    ...(options.distRoot ? { distRoot: options.distRoot } : {}),
  }).start();
}
