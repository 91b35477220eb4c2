// ratelimit-service on a Redis that speaks TLS only, checks client certificates and knows the
// service as an ACL user (envoyproxy/ratelimit's REDIS_AUTH "username:password"): replicas share
// counters over it; a Redis whose certificate the service does not trust, and a wrong password,
// are refused with the reason in /readyz, and answers follow the failure mode.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../../launcher/consul-agent.js';
import { freePorts } from '../../launcher/ports.js';
import { RedisServer } from '../../launcher/redis.js';
import { sleep, waitFor } from '../../launcher/wait.js';
import { RatelimitReplicas, writeReplicaConfig } from '../helpers/ratelimit-replicas.js';
import { makeTestCerts, type TestCerts } from '../helpers/test-certs.js';
import { awayFromHourEdge } from '../helpers/windows.js';

const USER = 'meshgate-rl';
const PASSWORD = 'not:a-default-password';

describe('ratelimit-service on Redis over TLS, as an ACL user', () => {
  let dir: string;
  let certs: TestCerts;
  let redis: RedisServer;
  const groups: RatelimitReplicas[] = [];

  /** Replicas with these TLS arguments and REDIS_AUTH. */
  function replicas(tlsArgs: string[], auth = `${USER}:${PASSWORD}`): RatelimitReplicas {
    const r = new RatelimitReplicas(dir, writeReplicaConfig(dir), [...tlsArgs, '--failure-mode=closed', '--key-prefix=tls_'], { REDIS_AUTH: auth });
    groups.push(r);
    return r;
  }

  /** A replica started with these TLS arguments, once its /readyz gives a reason matching `why`. */
  async function refused(tlsArgs: string[], why: RegExp, auth?: string): Promise<{ r: RatelimitReplicas; code: number; reason: string }> {
    const r = replicas(tlsArgs, auth);
    await r.add(redis.url, { waitReady: false });
    return waitFor(
      `a refusal matching ${why} in /readyz`,
      async () => {
        const res = await fetch(`${r.services[0]!.adminUrl}/readyz`);
        const { reason } = (await res.json()) as { reason?: string };
        return reason && why.test(reason) ? { r, code: res.status, reason } : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  }

  before(async () => {
    dir = tempDir('rl-redis-tls');
    certs = makeTestCerts(dir);
    const [port] = (await freePorts(1)) as [number];
    redis = new RedisServer(
      port,
      `${dir}/redis.log`,
      ['--tls-cert-file', certs.serverCert, '--tls-key-file', certs.serverKey, '--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'yes',
        '--user', USER, 'on', `>${PASSWORD}`, '~*', '&*', '+@all'],
      { ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) },
    );
    await redis.start();
  });

  after(async () => {
    for (const g of groups) await g.stop();
    await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shares counters between two replicas over TLS with a client certificate: exactly 20 of 50', async () => {
    const r = replicas(['--redis-tls-ca', certs.ca, '--redis-tls-cert', certs.clientCert, '--redis-tls-key', certs.clientKey]);
    await r.add(redis.url);
    await r.add(redis.url);
    await awayFromHourEdge();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => r.clients[i % 2]!.should('shared', [[['tenant', 'over-tls']]])));
    assert.equal(answers.filter((a) => a.overall_code === 'OK').length, 20);
    assert.match(await redis.command('KEYS', 'tls_shared_tenant_over-tls_*'), /^\*1$/, 'the counter is in this Redis');
  });

  it('does not trust a Redis whose certificate another CA signed, and says why', async () => {
    const { r, code } = await refused(['--redis-tls-ca', certs.otherCa, '--redis-tls-cert', certs.clientCert, '--redis-tls-key', certs.clientKey], /redis backend is unreachable \(.*certificate.*\)/);
    assert.equal(code, 503);
    assert.equal((await r.clients[0]!.should('shared', [[['tenant', 'x']]])).overall_code, 'OVER_LIMIT', 'fail closed, as configured');
  });

  it('is refused by Redis with a wrong password, and says so', async () => {
    const { code } = await refused(['--redis-tls-ca', certs.ca, '--redis-tls-cert', certs.clientCert, '--redis-tls-key', certs.clientKey], /WRONGPASS/, `${USER}:wrong`);
    assert.equal(code, 503);
  });

  it('is refused by a Redis that requires a client certificate when it has none', async () => {
    const { r, code } = await refused(['--redis-tls-ca', certs.ca], /unreachable/);
    assert.equal(code, 503);
    await sleep(1_000);
    assert.equal((await fetch(`${r.services[0]!.adminUrl}/readyz`)).status, 503, 'still not ready: no connection without a certificate');
    assert.equal((await r.clients[0]!.should('shared', [[['tenant', 'x']]])).overall_code, 'OVER_LIMIT', 'fail closed, as configured');
  });
});
