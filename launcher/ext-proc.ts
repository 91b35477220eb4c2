// meshgate's LLM processor (ext-proc) as a child process, registered in Consul when given a
// Consul address.
import { Component, runOptions, type RunOptions } from './component.js';

export interface ExtProcOptions extends RunOptions {
  readonly port: number;
  readonly adminPort: number;
  readonly consulAddress?: string;
  readonly extraArgs?: readonly string[];
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
    ...runOptions(options),
  }).start();
}
