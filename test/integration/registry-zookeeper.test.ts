// A real ZooKeeper (Apache's jar from Maven Central) beside Consul: services registered in it
// the way Spring Cloud Zookeeper registers them reach a real gateway Envoy, through every change
// a registry goes through — and Envoy's view is checked against ZooKeeper's own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import zookeeper from 'node-zookeeper-client';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { distPath } from '../../launcher/repo.js';
import { freePorts } from '../../launcher/ports.js';
import { sleep, waitFor } from '../../launcher/wait.js';
import { startXdsServer } from '../../launcher/xds-server.js';
import type { ZooKeeperServer } from '../../launcher/zookeeper.js';
import { instancesAnswering, request, type GatewayError } from '../helpers/http.js';
import { meshViews, type DebugMesh } from '../helpers/mesh-views.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { TestZooKeeper, type FakeInstance } from '../helpers/zookeeper-client.js';

const SESSION_MS = 2_000;


describe('registries: ZooKeeper beside Consul', () => {
  let zk: ZooKeeperServer;
  let mesh: GatewayMesh;
  let client: TestZooKeeper;

  const { debugMesh, registries, envoyHealthy, envoyHosts, envoyHoldsHealthy } = meshViews(() => mesh);

  before(async () => {
    mesh = await startGatewayMesh({ zookeeper: true, zookeeperSessionMs: SESSION_MS, xdsArgs: ['--retain-vanished=3s'] });
    zk = mesh.zookeeper!;
    client = await TestZooKeeper.connect(zk.connect);
  });

  after(async () => {
    client?.close();
    await mesh?.stop();
  });

  it('routes a service registered in ZooKeeper (an ephemeral node in Curator’s format), and says where it came from', async () => {
    const app = await mesh.addInstance({ service: 'zk-echo', id: 'zk-echo-1', meta: { 'gateway-path': '/zk' }, registry: { kind: 'zookeeper', connect: zk.connect } });
    await waitFor('zk-echo-1 to answer through the gateway', async () => (await instancesAnswering(mesh.gatewayUrl, 2, '/zk/test?msg=x')).has('zk-echo-1'), {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    assert.deepEqual(await envoyHealthy('zk-echo'), [`127.0.0.1:${app.port}`]);
    const m = await debugMesh();
    const svc = m.services.find((s) => s.name === 'zk-echo');
    assert.equal(svc?.instances[0]?.registry, 'zookeeper');
    assert.deepEqual(
      m.registries.map((r) => [r.registry, r.up, r.synced]),
      [
        ['consul', true, true],
        ['zookeeper', true, true],
      ],
    );
  });

  it('follows a metadata change: the route moves with the gateway-path meta', async () => {
    const app = mesh.services.find((s) => s.id === 'zk-echo-1')!;
    await app.setMeta({ 'gateway-path': '/zk-moved' });
    await waitFor('the moved route to answer', async () => (await request(`${mesh.gatewayUrl}/zk-moved/test?msg=x`)).status === 200, { timeoutMs: 5_000, intervalMs: 50 });
    assert.equal((await request(`${mesh.gatewayUrl}/zk/test?msg=x`)).status, 404);
  });

  it('takes an instance out of rotation when its instance_status is OUT_OF_SERVICE, and back when UP', async () => {
    const app = mesh.services.find((s) => s.id === 'zk-echo-1')!;
    await app.setHealthy(false);
    await waitFor('Envoy to see the instance unhealthy', async () => (await envoyHealthy('zk-echo')).length === 0 && (await envoyHosts('zk-echo')).length === 1, {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    const a = await request<GatewayError>(`${mesh.gatewayUrl}/zk-moved/test?msg=x`);
    assert.equal(a.status, 503);
    assert.equal(a.body.error.code, 'no_healthy_upstream');
    await app.setHealthy(true);
    await waitFor('the instance back', async () => (await envoyHealthy('zk-echo')).length === 1, { timeoutMs: 5_000, intervalMs: 50 });
  });

  it('drops an instance whose registrant’s session expires, and takes it back when it registers again (as Curator does)', async () => {
    const app = await mesh.addInstance({
      service: 'zk-session',
      id: 'zk-session-1',
      meta: { 'gateway-path': '/zk-session' },
      registry: { kind: 'zookeeper', connect: zk.connect, sessionTimeoutMs: SESSION_MS },
    });
    const at = `127.0.0.1:${app.port}`;
    await waitFor('the instance in Envoy', async () => (await envoyHealthy('zk-session')).includes(at), { timeoutMs: 10_000, intervalMs: 50 });
    // Paused past its session timeout: ZooKeeper expires the session and deletes its ephemeral node.
    app.process.child.kill('SIGSTOP');
    try {
      await waitFor('Envoy to drop the instance', async () => !(await envoyHosts('zk-session')).includes(at), { timeoutMs: SESSION_MS * 5, intervalMs: 100 });
    } finally {
      app.process.child.kill('SIGCONT');
    }
    await waitFor('the instance registered again', async () => (await envoyHealthy('zk-session')).includes(at), { timeoutMs: 10_000, intervalMs: 100 });
  });

  it('reads everything again after its own session expired, and misses nothing that changed meanwhile', async () => {
    const xds = mesh.xds.process.child;
    xds.kill('SIGSTOP');
    try {
      await sleep(SESSION_MS * 2);
      // Changed while meshgate's session was lost: a new service, an instance gone.
      await client.register('zk-while-away', { id: 'away-1', address: '127.0.0.9', port: 9001, healthy: true, meta: { 'gateway-path': '/away' } });
    } finally {
      xds.kill('SIGCONT');
    }
    await waitFor('the new service in Envoy', async () => (await envoyHealthy('zk-while-away')).includes('127.0.0.9:9001'), { timeoutMs: 15_000, intervalMs: 100 });
    assert.ok((await envoyHealthy('zk-echo')).length === 1, 'the services known before are still there');
    const log = await import('node:fs').then((fs) => fs.readFileSync(path.join(mesh.dir, 'xds-server.log'), 'utf8'));
    assert.match(log, /zookeeper session expired/);
  });

  it('keeps the last view while ZooKeeper is down (the outage in /debug/registries and metrics), then follows it again', async () => {
    await zk.stop();
    await waitFor(
      'the outage to show',
      async () => {
        const regs = await registries();
        return regs.find((r) => r.registry === 'zookeeper')?.up === false;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const metrics = await (await fetch(`http://127.0.0.1:${mesh.ports.xdsAdmin}/metrics`)).text();
    assert.match(metrics, /meshgate_registry_up\{registry="zookeeper"\} 0/);
    assert.match(metrics, /meshgate_registry_up\{registry="consul"\} 1/);
    assert.ok((await debugMesh()).problems.some((p) => p.subject === 'registry/zookeeper'), 'a problem names the registry');
    // Still routed from the last view.
    assert.ok((await instancesAnswering(mesh.gatewayUrl, 3, '/zk-moved/test?msg=x')).has('zk-echo-1'));

    await zk.start();
    await waitFor(
      'zookeeper up again',
      async () => (await registries()).find((r) => r.registry === 'zookeeper')?.up === true,
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    // A fresh session for the test's own writes: how its old one fares across the restart is the
    // client library's business, not what this test is about.
    client.close();
    client = await TestZooKeeper.connect(zk.connect);
    await client.register('zk-after', { id: 'after-1', address: '127.0.0.10', port: 9002, healthy: true, meta: { 'gateway-path': '/after' } });
    await waitFor('a change after the outage in Envoy', async () => (await envoyHealthy('zk-after')).includes('127.0.0.10:9002'), { timeoutMs: 10_000, intervalMs: 100 });
    assert.ok((await instancesAnswering(mesh.gatewayUrl, 3, '/zk-moved/test?msg=x')).has('zk-echo-1'));
  });

  it('refuses an entry that is not a Curator instance, with its reason, and keeps serving the rest', async () => {
    await client.register('zk-mixed-bag', { id: 'good-1', address: '127.0.0.11', port: 9003, healthy: true, meta: { 'gateway-path': '/bag' } });
    await client.write('/services/zk-mixed-bag/garbage-1', Buffer.from('{"this is": not json'));
    await client.write('/services/zk-mixed-bag/by-name-1', Buffer.from(JSON.stringify({ id: 'by-name-1', address: 'orders.internal', port: 80 })));
    await waitFor(
      'the refusals named',
      async () => /garbage-1.*by-name-1/.test((await debugMesh()).problems.find((p) => p.subject === 'zookeeper/service/zk-mixed-bag')?.reason ?? ''),
      { timeoutMs: 5_000, intervalMs: 100 },
    );
    const problem = (await debugMesh()).problems.find((p) => p.subject === 'zookeeper/service/zk-mixed-bag')!;
    assert.match(problem.reason, /^2 entries refused: /);
    assert.match(problem.reason, /garbage-1: not JSON/);
    assert.match(problem.reason, /by-name-1 address: "orders.internal" is not an IP address/);
    assert.deepEqual(await envoyHealthy('zk-mixed-bag'), ['127.0.0.11:9003']);
  });

  it('serves one service from two registries: the union, settings from the first in precedence (consul)', async () => {
    const fromConsul = await mesh.addInstance({ service: 'mixed', id: 'mixed-consul', meta: { 'gateway-path': '/mixed' } });
    const fromZk = await mesh.addInstance({ service: 'mixed', id: 'mixed-zk', meta: { 'gateway-path': '/mixed-zk-says' }, registry: { kind: 'zookeeper', connect: zk.connect } });
    await waitFor(
      'both instances answering on the Consul registration’s path',
      async () => {
        const seen = await instancesAnswering(mesh.gatewayUrl, 8, '/mixed/test?msg=x');
        return seen.has('mixed-consul') && seen.has('mixed-zk');
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    assert.equal((await request(`${mesh.gatewayUrl}/mixed-zk-says/test?msg=x`)).status, 404, 'the lower-precedence registry does not decide the settings');
    const svc = (await debugMesh()).services.find((s) => s.name === 'mixed')!;
    // Curator's instance id is a UUID (Spring Cloud Zookeeper's too); Consul's is the one registered.
    assert.deepEqual(svc.instances.map((i) => i.registry).sort(), ['consul', 'zookeeper']);
    assert.ok(svc.instances.some((i) => i.id === 'mixed-consul'));
    // The operator's command line says the same.
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [distPath('cli', 'meshgate.js'), 'instances', 'mixed', `--xds-admin=http://127.0.0.1:${mesh.ports.xdsAdmin}`], { timeout: 20_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout),
      ),
    );
    assert.match(out, /^zookeeper\s+up\s+\d+\s+\d+$/m);
    assert.match(out, new RegExp(`^mixed\\s+mixed-consul\\s+127\\.0\\.0\\.1:${fromConsul.port}\\s+HEALTHY\\s+consul$`, 'm'));
    assert.match(out, new RegExp(`^mixed\\s+[0-9a-f-]{36}\\s+127\\.0\\.0\\.1:${fromZk.port}\\s+HEALTHY\\s+zookeeper$`, 'm'));
    assert.deepEqual(await envoyHealthy('mixed'), [`127.0.0.1:${fromConsul.port}`, `127.0.0.1:${fromZk.port}`].sort());
  });

  it('after random churn, Envoy’s healthy set equals ZooKeeper’s', async () => {
    const random = seededRandom(24);
    const live = new Map<string, FakeInstance>();
    const meta = { 'gateway-path': '/churn' };
    for (let step = 0; step < 60; step++) {
      const op = random(3);
      const ids = [...live.keys()];
      if (op === 0 || ids.length < 3) {
        const i: FakeInstance = { id: `churn-${step}`, address: `127.0.1.${1 + random(200)}`, port: 10_000 + step, healthy: random(4) !== 0, meta };
        await client.register('zk-churn', i);
        live.set(i.id, i);
      } else if (op === 1) {
        const id = ids[random(ids.length)]!;
        await client.remove(`/services/zk-churn/${id}`);
        live.delete(id);
      } else {
        const id = ids[random(ids.length)]!;
        const i = { ...live.get(id)!, healthy: !live.get(id)!.healthy };
        await client.update('zk-churn', i);
        live.set(id, i);
      }
      if (random(4) === 0) await sleep(random(30));
    }
    const expected = await client.upInstances('zk-churn');
    assert.ok(expected.length > 0, 'the churn leaves healthy instances');
    await envoyHoldsHealthy('zk-churn', expected);
  });

  it('reads under a chroot with digest credentials, and says so clearly when it has none', async () => {
    const digest = `meshgate:${createHash('sha1').update('meshgate:s3cret').digest('base64')}`;
    const acl = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('digest', digest))];
    const owner = await TestZooKeeper.connect(`${zk.connect}/tenant-a`, 'meshgate:s3cret').catch(async () => {
      await client.mkdirp('/tenant-a');
      return TestZooKeeper.connect(`${zk.connect}/tenant-a`, 'meshgate:s3cret');
    });
    try {
      await client.mkdirp('/tenant-a/services');
      await owner.mkdirp('/services/locked', acl);
      await owner.register('locked', { id: 'locked-1', address: '127.0.0.12', port: 9004, healthy: true, meta: { 'gateway-path': '/locked' } }, acl);
      const [xdsPort, adminPort] = await freePorts(2);
      const start = (extra: string[]) =>
        startXdsServer({ consulAddress: mesh.consul.address, xdsPort: xdsPort!, adminPort: adminPort!, logFile: path.join(mesh.dir, 'xds-chroot.log'), extraArgs: [`--zookeeper=${zk.connect}/tenant-a`, ...extra] });
      const services = async (): Promise<DebugMesh> => (await request<DebugMesh>(`http://127.0.0.1:${adminPort}/debug/mesh`)).body;

      const withAuth = await start(['--zookeeper-auth=meshgate:s3cret']);
      try {
        await waitFor('the locked service read', async () => (await services()).services.some((x) => x.name === 'locked' && x.instances[0]?.address === '127.0.0.12'), {
          timeoutMs: 10_000,
          intervalMs: 100,
        });
        assert.ok(!(await services()).services.some((x) => x.name === 'zk-echo'), 'nothing outside the chroot');
      } finally {
        await withAuth.stop();
      }
      const without = await start([]);
      try {
        await waitFor('the refusal named', async () => /NO_AUTH/.test((await services()).problems.find((p) => p.subject === 'zookeeper/service/locked')?.reason ?? ''), {
          timeoutMs: 10_000,
          intervalMs: 100,
        });
        const reason = (await services()).problems.find((p) => p.subject === 'zookeeper/service/locked')!.reason;
        assert.match(reason, /\/services\/locked: cannot list its instances: .*NO_AUTH/);
      } finally {
        await without.stop();
      }
    } finally {
      owner.close();
    }
  });

  it('deregisters an instance that stops: its route answers 503 until retention ends', async () => {
    const app = mesh.services.find((s) => s.id === 'zk-echo-1')!;
    await app.stop();
    await waitFor('Envoy to drop the instance', async () => (await envoyHosts('zk-echo')).length === 0, { timeoutMs: 5_000, intervalMs: 50 });
    const a = await request<GatewayError>(`${mesh.gatewayUrl}/zk-moved/test?msg=x`);
    assert.equal(a.status, 503);
  });
});
