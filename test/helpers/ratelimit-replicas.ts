// ratelimit-service replicas on one Redis (or Cluster), each with a client, all stopped together:
// what the Redis integration tests start.
import path from 'node:path';
import type { Component } from '../../launcher/component.js';
import { freePorts } from '../../launcher/ports.js';
import { startRatelimit } from '../../launcher/ratelimit.js';
import { RlsClient } from './rls-client.js';

export class RatelimitReplicas {
  readonly services: Component[] = [];
  readonly clients: RlsClient[] = [];

  constructor(
    private readonly dir: string,
    private readonly configPaths: readonly string[],
    private readonly extraArgs: readonly string[],
  ) {}

  /** One more replica on `redisUrl`, ready before this resolves. */
  async add(redisUrl: string): Promise<void> {
    const [port, adminPort] = (await freePorts(2)) as [number, number];
    this.services.push(
      await startRatelimit({
        port,
        adminPort,
        configPaths: this.configPaths,
        redisUrl,
        extraArgs: this.extraArgs,
        logFile: path.join(this.dir, `ratelimit-${this.services.length}.log`),
      }),
    );
    this.clients.push(new RlsClient(`127.0.0.1:${port}`));
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.close();
    for (const s of this.services) await s.stop();
  }
}
