// meshgate's ext-authz as a child process, registered in Consul when given a Consul address.
import { Component, runOptions, type RunOptions } from './component.js';

export interface ExtAuthzOptions extends RunOptions {
  readonly port: number;
  readonly adminPort: number;
  readonly consulAddress?: string;
  /** Consul KV prefix to watch for policy documents. */
  readonly consulPrefix?: string;
  readonly policyFiles?: readonly string[];
  readonly extraArgs?: readonly string[];
}

export async function startExtAuthz(options: ExtAuthzOptions): Promise<Component> {
  const args = [
    `--listen=127.0.0.1:${options.port}`,
    `--admin=127.0.0.1:${options.adminPort}`,
    ...(options.consulAddress ? [`--consul=${options.consulAddress}`, '--register'] : []),
    ...(options.consulPrefix ? [`--consul-prefix=${options.consulPrefix}`] : []),
    ...(options.policyFiles ?? []).map((f) => `--policy-file=${f}`),
    ...(options.extraArgs ?? []),
  ];
  return new Component('ext-authz', {
    entry: ['ext-authz', 'main.js'],
    args,
    adminPort: options.adminPort,
    waitReady: true,
    ...runOptions(options),
  }).start();
}
