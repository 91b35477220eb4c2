// ratelimit-service on a real Redis Cluster (three masters): replicas share counters whose keys
// live on every node, one request's descriptors, spread over nodes, are counted in one turn, and
// a dead node costs the timeout only on the first answers. Failure mode closed: a counter the
// Cluster path failed to reach shows as OVER_LIMIT.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Component } from '../../launcher/component.js';
import { tempDir } from '../../launcher/consul-agent.js';
import { startRedisCluster, type RedisCluster } from '../../launcher/redis-cluster.js';
import type { RedisServer } from '../../launcher/redis.js';
import { waitFor } from '../../launcher/wait.js';
import { RatelimitReplicas, writeReplicaConfig } from '../helpers/ratelimit-replicas.js';
import type { RlsClient } from '../helpers/rls-client.js';
import { assertSlidingAgainstFixed } from '../helpers/sliding-window.js';
import { awayFromHourEdge } from '../helpers/windows.js';

describe('ratelimit-service on a Redis Cluster', () => {
  let dir: string;
  let cluster: RedisCluster;
  let replicas: RatelimitReplicas;
  let services: Component[];
  let clients: RlsClient[];

  /** How many counters matching `pattern` each of `nodes` holds. */
  async function countersPerNode(pattern: string, nodes: readonly RedisServer[] = cluster.nodes): Promise<number[]> {
    return Promise.all(nodes.map(async (n) => Number((await n.command('KEYS', pattern)).substring(1))));
  }

  async function firstReplicaMetrics(): Promise<string> {
    return (await fetch(`${services[0]!.adminUrl}/metrics`)).text();
  }

  before(async () => {
    dir = tempDir('rl-redis-cluster');
    cluster = await startRedisCluster(dir);
    replicas = new RatelimitReplicas(dir, writeReplicaConfig(dir), ['--redis-cluster', '--redis-timeout=500ms', '--failure-mode=closed', '--key-prefix=itc_']);
    ({ services, clients } = replicas);
    // Each replica knows one seed only and learns the rest of the Cluster from it.
    await replicas.add(cluster.nodes[0]!.url);
    await replicas.add(cluster.nodes[2]!.url);
  });

  after(async () => {
    await replicas?.stop();
    await cluster?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports the Cluster backend ready', async () => {
    for (const s of services) {
      const ready = await fetch(`${s.adminUrl}/readyz`);
      assert.equal(ready.status, 200, await ready.text());
    }
    assert.match(await firstReplicaMetrics(), /^meshgate_ratelimit_backend_up 1$/m);
  });

  it('shares counters between replicas for keys on every node: 30 tenants, 20 allowed each', async () => {
    await awayFromHourEdge();
    const tenants = Array.from({ length: 30 }, (_, i) => `t${i}`);
    const answers = await Promise.all(
      tenants.flatMap((tenant) =>
        Array.from({ length: 25 }, async (_, i) => ({ tenant, code: (await clients[i % 2]!.should('shared', [[['tenant', tenant]]])).overall_code })),
      ),
    );
    const allowed = new Map<string, number>();
    for (const a of answers) if (a.code === 'OK') allowed.set(a.tenant, (allowed.get(a.tenant) ?? 0) + 1);
    assert.deepEqual(tenants.filter((t) => allowed.get(t) !== 20).map((t) => [t, allowed.get(t) ?? 0]), [], 'every tenant allowed exactly 20');
    const perNode = await countersPerNode('itc_shared_tenant_t*');
    assert.equal(perNode.reduce((a, b) => a + b, 0), 30, `one counter per tenant: ${perNode}`);
    assert.ok(perNode.every((n) => n > 0), `counters on every node: ${perNode}`);
  });

  it('keeps a sliding window across a second boundary, the previous second read back from Redis, where a fixed window lets the next ten through', async () => {
    let n = 0;
    await assertSlidingAgainstFixed((key) => clients[n++ % 2]!.should('pace', [[[key, 'a']]]));
  });

  it('counts one request\'s descriptors on several nodes, OVER_LIMIT once any of them is', async () => {
    await awayFromHourEdge();
    for (let i = 0; i < 20; i++) assert.equal((await clients[i % 2]!.should('shared', [[['tenant', 'multi-hot']]])).overall_code, 'OK');
    const fresh = Array.from({ length: 12 }, (_, i) => `multi-${i}`);
    const mixed = await clients[0]!.should('shared', [...fresh.map((t) => [['tenant', t]] as Array<[string, string]>), [['tenant', 'multi-hot']]]);
    assert.equal(mixed.overall_code, 'OVER_LIMIT');
    assert.deepEqual(mixed.statuses!.map((s) => s.code), [...fresh.map(() => 'OK'), 'OVER_LIMIT']);
    assert.deepEqual(mixed.statuses!.slice(0, fresh.length).map((s) => s.limit_remaining), fresh.map(() => 19));
    const perNode = await countersPerNode('itc_shared_tenant_multi-[0-9]*');
    assert.equal(perNode.reduce((a, b) => a + b, 0), fresh.length, `one counter per descriptor: ${perNode}`);
    assert.ok(perNode.filter((n) => n > 0).length >= 2, `the request's counters span nodes: ${perNode}`);
  });

  it('fails a dead node\'s counters at once after the first timeouts, and keeps counting on the others', async () => {
    await awayFromHourEdge();
    const node = cluster.nodes[1]!;
    // Counter keys as envoyproxy/ratelimit names them: prefix, domain, key, value, window start.
    // Which node holds a tenant changes with the window, so the 30 tenants are picked for it:
    // 10 on the node that dies (enough to open its circuit), 20 on the others, interleaved as
    // they come.
    const windowStart = Math.floor(Date.now() / 3_600_000) * 3_600;
    const onDeadNode = new Set<string>();
    const onLiveNodes: string[] = [];
    const tenants: string[] = [];
    for (let i = 0; onDeadNode.size < 10 || onLiveNodes.length < 20; i++) {
      const t = `down-${i}`;
      const dead = (await cluster.ownerOf(`itc_shared_tenant_${t}_${windowStart}`)) === node;
      if (dead && onDeadNode.size < 10) onDeadNode.add(t);
      else if (!dead && onLiveNodes.length < 20) onLiveNodes.push(t);
      else continue;
      tenants.push(t);
    }
    await node.stop('SIGKILL');
    try {
      // The Cluster still maps a third of the slots to the dead master (for cluster-node-timeout).
      const timings: number[] = [];
      const allowed: string[] = [];
      for (const t of tenants) {
        const started = Date.now();
        const a = await clients[0]!.should('shared', [[['tenant', t]]]);
        timings.push(Date.now() - started);
        if (a.overall_code === 'OK') allowed.push(t);
      }
      assert.deepEqual(allowed, tenants.filter((t) => !onDeadNode.has(t)), 'the live nodes\' counters allowed, the dead node\'s refused (fail closed)');
      const counted = await countersPerNode('itc_shared_tenant_down-*', [cluster.nodes[0]!, cluster.nodes[2]!]);
      assert.equal(counted.reduce((a, b) => a + b, 0), allowed.length, 'every allowed answer counted on a live node');
      assert.ok(Math.max(...timings) < 1_000, `every answer within the 500 ms timeout plus overhead: ${timings}`);
      // Three failures open the dead node's circuit (--circuit-failures 3); the live nodes'
      // answers in between do not close it again.
      assert.ok(timings.filter((t) => t >= 250).length <= 4, `only the first answers for the dead node wait: ${timings}`);
      assert.match(await firstReplicaMetrics(), new RegExp(`^meshgate_ratelimit_backend_circuit_open\\{node="${node.url}"\\} 1$`, 'm'));
    } finally {
      await node.start();
    }
    await awayFromHourEdge();
    await waitFor(
      'every tenant counted again',
      async () => {
        // The replica whose circuit for the node opened: its probe finds the node back.
        const answers = await Promise.all(tenants.map((t) => clients[0]!.should('shared', [[['tenant', `back-${t}`]]])));
        return answers.every((a) => a.overall_code === 'OK');
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    assert.match(await firstReplicaMetrics(), new RegExp(`^meshgate_ratelimit_backend_circuit_open\\{node="${node.url}"\\} 0$`, 'm'), 'closed again');
  });
});

