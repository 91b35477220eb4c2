// A real Redis Cluster on loopback: N masters without replicas, the hash slots split evenly,
// formed with CLUSTER ADDSLOTSRANGE and CLUSTER MEET (no redis-cli needed), each node's bus on a
// port of its own.
import path from 'node:path';
import { freePorts } from './ports.js';
import { RedisServer } from './redis.js';
import { waitFor } from './wait.js';

const SLOTS = 16_384;

/** The first slot node `i` of `masters` serves (node i serves up to the next one's first − 1). */
function firstSlot(i: number, masters: number): number {
  return Math.floor((SLOTS * i) / masters);
}

export class RedisCluster {
  constructor(readonly nodes: readonly RedisServer[]) {}

  /** The node that serves `key`, by its slot as Redis computes it (CLUSTER KEYSLOT on `ask`). */
  async ownerOf(key: string, ask: RedisServer = this.nodes[0]!): Promise<RedisServer> {
    const slot = Number((await ask.command('CLUSTER', 'KEYSLOT', key)).substring(1));
    let i = this.nodes.length - 1;
    while (firstSlot(i, this.nodes.length) > slot) i--;
    return this.nodes[i]!;
  }

  /** Every node as a seed, "host:port,host:port,…". */
  get url(): string {
    return this.nodes.map((n) => n.url).join(',');
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}

export async function startRedisCluster(dir: string, masters = 3): Promise<RedisCluster> {
  const ports = await freePorts(masters * 2);
  const nodes: RedisServer[] = [];
  const cluster = new RedisCluster(nodes);
  try {
    for (let i = 0; i < masters; i++) {
      const [port, busPort] = [ports[i]!, ports[masters + i]!];
      const node = new RedisServer(port, path.join(dir, `redis-cluster-${port}.log`), [
        '--cluster-enabled', 'yes',
        '--cluster-port', String(busPort),
        '--cluster-config-file', path.join(dir, `nodes-${port}.conf`),
        // Redis's default: a dead master stays in the slot map for 15 s (the time a client
        // must cope with it by itself) and a returning one takes its slots back at once.
        '--cluster-node-timeout', '15000',
      ]);
      nodes.push(node);
      await node.start();
      const added = await node.command('CLUSTER', 'ADDSLOTSRANGE', String(firstSlot(i, masters)), String(firstSlot(i + 1, masters) - 1));
      if (added !== '+OK') throw new Error(`CLUSTER ADDSLOTSRANGE on ${node.url}: ${added}`);
    }
    for (let i = 1; i < masters; i++) {
      const met = await nodes[0]!.command('CLUSTER', 'MEET', '127.0.0.1', String(ports[i]), String(ports[masters + i]));
      if (met !== '+OK') throw new Error(`CLUSTER MEET ${nodes[i]!.url}: ${met}`);
    }
    await waitFor(
      'every Redis Cluster node to report cluster_state:ok',
      async () => {
        for (const node of nodes) if (!(await node.bulk('CLUSTER', 'INFO')).includes('cluster_state:ok')) return false;
        return true;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
