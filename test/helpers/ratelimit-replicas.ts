// ratelimit-service replicas on one Redis (or Cluster), each with a client, all stopped together:
// what the Redis integration tests start.
import fs from 'node:fs';
import path from 'node:path';
import type { Component } from '../../launcher/component.js';
import { freePorts } from '../../launcher/ports.js';
import { startRatelimit } from '../../launcher/ratelimit.js';
import { RlsClient } from './rls-client.js';
import { PACE_CONFIG } from './sliding-window.js';

/** A limit of 20 per tenant per hour, shared by the replicas. */
const SHARED_CONFIG = `
domain: shared
descriptors:
  - key: tenant
    rate_limit: {unit: hour, requests_per_unit: 20}
`;

/** Writes the replicas' config files (domains shared and pace) into `dir`; their paths. */
export function writeReplicaConfig(dir: string): string[] {
  const files: Array<[string, string]> = [['shared.yaml', SHARED_CONFIG], ['pace.yaml', PACE_CONFIG]];
  for (const [name, text] of files) fs.writeFileSync(path.join(dir, name), text);
  return files.map(([name]) => path.join(dir, name));
}

export class RatelimitReplicas {
  readonly services: Component[] = [];
  readonly clients: RlsClient[] = [];

  constructor(
    private readonly dir: string,
    private readonly configPaths: readonly string[],
    private readonly extraArgs: readonly string[],
    private readonly env?: Record<string, string>,
  ) {}

  /** One more replica on `redisUrl`, ready before this resolves. */
  async add(redisUrl: string, options: { waitReady?: boolean } = {}): Promise<void> {
    const [port, adminPort] = (await freePorts(2)) as [number, number];
    this.services.push(
      await startRatelimit({
        port,
        adminPort,
        configPaths: this.configPaths,
        redisUrl,
        extraArgs: this.extraArgs,
        ...(this.env ? { env: this.env } : {}),
        ...options,
        logFile: path.join(this.dir, `ratelimit-${port}.log`),
      }),
    );
    this.clients.push(new RlsClient(`127.0.0.1:${port}`));
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.close();
    for (const s of this.services) await s.stop();
  }
}
