// ratelimit-service on a real Redis: replicas share counters, a Redis outage costs at most the
// timeout (then nothing), answers follow the failure mode, and limits come back with Redis.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Component } from '../../launcher/component.js';
import { tempDir } from '../../launcher/consul-agent.js';
import { freePorts } from '../../launcher/ports.js';
import { startRatelimit } from '../../launcher/ratelimit.js';
import { RedisServer, startRedis } from '../../launcher/redis.js';
import { sleep, waitFor } from '../../launcher/wait.js';
import { RatelimitReplicas, writeReplicaConfig } from '../helpers/ratelimit-replicas.js';
import { RlsClient } from '../helpers/rls-client.js';
import { assertSlidingAgainstFixed } from '../helpers/sliding-window.js';
import { awayFromHourEdge } from '../helpers/windows.js';

describe('ratelimit-service on Redis', () => {
  let dir: string;
  let redis: RedisServer;
  let replicas: RatelimitReplicas;
  let services: Component[];
  let clients: RlsClient[];

  before(async () => {
    dir = tempDir('rl-redis');
    redis = await startRedis((await freePorts(1))[0]!, path.join(dir, 'redis.log'));
    replicas = new RatelimitReplicas(dir, writeReplicaConfig(dir), ['--redis-timeout=50ms', '--failure-mode=open', '--key-prefix=it_']);
    ({ services, clients } = replicas);
    for (let i = 0; i < 2; i++) await replicas.add(redis.url);
  });

  after(async () => {
    await replicas?.stop();
    await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shares counters between two replicas: a limit of 20 across both allows exactly 20', async () => {
    await awayFromHourEdge();
    let ok = 0;
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => clients[i % 2]!.should('shared', [[['tenant', 'acme']]])));
    for (const a of answers) if (a.overall_code === 'OK') ok++;
    assert.equal(ok, 20);
    const keys = await redis.command('KEYS', 'it_shared_tenant_acme_*');
    assert.match(keys, /^\*1$/, 'one counter, named as envoyproxy/ratelimit names it');
  });

  it('keeps a sliding window across a second boundary, the previous second read back from Redis, where a fixed window lets the next ten through', async () => {
    let n = 0;
    await assertSlidingAgainstFixed((key) => clients[n++ % 2]!.should('pace', [[[key, 'a']]]));
  });

  it('answers within the timeout while Redis hangs, fails open, and then stops waiting (circuit)', async () => {
    await awayFromHourEdge();
    redis.pause();
    try {
      const timings: number[] = [];
      for (let i = 0; i < 20; i++) {
        const started = Date.now();
        const a = await clients[0]!.should('shared', [[['tenant', `hang-${i}`]]]);
        timings.push(Date.now() - started);
        assert.equal(a.overall_code, 'OK', 'fail open');
      }
      assert.ok(Math.max(...timings) < 250, `every answer within the 50 ms timeout plus overhead: ${timings}`);
      const late = timings.slice(5);
      assert.ok(late.filter((t) => t < 20).length >= late.length - 2, `with the circuit open, answers do not wait: ${timings}`);
      const ready = await fetch(`${services[0]!.adminUrl}/metrics`);
      assert.match(await ready.text(), /^meshgate_ratelimit_backend_failures_total\{mode="open"\} [1-9]/m);
    } finally {
      redis.resume();
    }
  });

  it('fails open at once while Redis is dead, and enforces limits again when it is back', async () => {
    await redis.stop('SIGKILL');
    await waitFor('the replica to notice', async () => (await fetch(`${services[0]!.adminUrl}/readyz`)).status === 503, { timeoutMs: 5_000, intervalMs: 50 });
    const started = Date.now();
    for (let i = 0; i < 30; i++) assert.equal((await clients[0]!.should('shared', [[['tenant', 'dead']]])).overall_code, 'OK');
    assert.ok(Date.now() - started < 1_000, '30 answers with Redis dead took under a second');
    const ready = await fetch(`${services[0]!.adminUrl}/readyz`);
    assert.match(((await ready.json()) as { reason: string }).reason, /redis backend is unreachable/);

    await redis.start();
    await awayFromHourEdge();
    await waitFor('both replicas to reconnect', async () => {
      const r = await Promise.all(services.map((s) => fetch(`${s.adminUrl}/readyz`)));
      return r.every((x) => x.status === 200);
    }, { timeoutMs: 10_000, intervalMs: 100 });
    await sleep(1_200); // let the circuit's probe through
    let ok = 0;
    for (let i = 0; i < 30; i++) if ((await clients[i % 2]!.should('shared', [[['tenant', 'back']]])).overall_code === 'OK') ok++;
    assert.equal(ok, 20);
  });

  it('starts while Redis is down, reports not ready, answers by the failure mode, and is ready once Redis is up', async () => {
    const [redisPort, port, admin] = (await freePorts(3)) as [number, number, number];
    const late = new RedisServer(redisPort, path.join(dir, 'redis-late.log'));
    const s = await startRatelimit({
      port,
      adminPort: admin,
      configPaths: [path.join(dir, 'shared.yaml')],
      redisUrl: late.url,
      waitReady: false,
      extraArgs: ['--failure-mode=closed'],
      logFile: path.join(dir, 'ratelimit-late.log'),
    });
    const client = new RlsClient(`127.0.0.1:${port}`);
    try {
      assert.equal((await fetch(`${s.adminUrl}/readyz`)).status, 503);
      assert.equal((await client.should('shared', [[['tenant', 'x']]])).overall_code, 'OVER_LIMIT', 'fail closed, as configured');
      await late.start();
      await waitFor('ready once Redis is up', async () => (await fetch(`${s.adminUrl}/readyz`)).status === 200, { timeoutMs: 10_000, intervalMs: 100 });
      await sleep(1_200);
      assert.equal((await client.should('shared', [[['tenant', 'x']]])).overall_code, 'OK');
    } finally {
      client.close();
      await s.stop();
      await late.stop();
    }
  });
});
