// A real Eureka server (Spring Cloud Netflix's, built from Maven Central) beside Consul:
// instances registered by a Eureka client library, with its heartbeats, reach a real gateway
// Envoy through every change a registry goes through — and Envoy's view is checked against
// Eureka's own.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EurekaServer } from '../../launcher/eureka.js';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { sleep, waitFor } from '../../launcher/wait.js';
import { EurekaRest, type RestInstance } from '../helpers/eureka-rest.js';
import { instancesAnswering, request, type GatewayError } from '../helpers/http.js';
import { meshViews } from '../helpers/mesh-views.js';
import { seededRandom } from '../helpers/seeded-random.js';

const HEARTBEAT_MS = 1_000;


describe('registries: Eureka beside Consul', () => {
  let mesh: GatewayMesh;
  let eureka: EurekaServer;
  let rest: EurekaRest;

  const { debugMesh, registries, envoyHealthy, envoyHosts, envoyHoldsHealthy } = meshViews(() => mesh);

  before(async () => {
    // The mesh polls Eureka every 500 ms (--eureka-interval).
    mesh = await startGatewayMesh({ eureka: true, xdsArgs: ['--retain-vanished=3s'] });
    eureka = mesh.eureka!;
    rest = new EurekaRest(eureka.url);
  });

  after(async () => {
    await mesh?.stop();
  });

  it('routes an instance a Eureka client registered, and says where it came from', async () => {
    const app = await mesh.addInstance({ service: 'eu-echo', id: 'eu-echo-1', meta: { 'gateway-path': '/eu' }, registry: { kind: 'eureka', url: eureka.url, heartbeatMs: HEARTBEAT_MS } });
    await waitFor('eu-echo-1 to answer through the gateway', async () => (await instancesAnswering(mesh.gatewayUrl, 2, '/eu/test?msg=x')).has('eu-echo-1'), {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    assert.deepEqual(await envoyHealthy('eu-echo'), [`127.0.0.1:${app.port}`]);
    const svc = (await debugMesh()).services.find((s) => s.name === 'eu-echo');
    assert.deepEqual(
      svc?.instances.map((i) => [i.id, i.registry]),
      [['eu-echo-1', 'eureka']],
    );
    assert.deepEqual(
      (await registries()).map((r) => [r.registry, r.up, r.synced]),
      [
        ['consul', true, true],
        ['eureka', true, true],
      ],
    );
  });

  it('follows a metadata change made through Eureka’s metadata endpoint', async () => {
    await mesh.services.find((s) => s.id === 'eu-echo-1')!.setMeta({ 'gateway-path': '/eu-moved' });
    await waitFor('the moved route to answer', async () => (await request(`${mesh.gatewayUrl}/eu-moved/test?msg=x`)).status === 200, { timeoutMs: 5_000, intervalMs: 50 });
    assert.equal((await request(`${mesh.gatewayUrl}/eu/test?msg=x`)).status, 404);
  });

  it('takes an instance out of rotation under the OUT_OF_SERVICE override, and back when it is removed', async () => {
    const app = mesh.services.find((s) => s.id === 'eu-echo-1')!;
    await app.setHealthy(false);
    await waitFor('Envoy to see the instance unhealthy', async () => (await envoyHealthy('eu-echo')).length === 0 && (await envoyHosts('eu-echo')).length === 1, {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    const a = await request<GatewayError>(`${mesh.gatewayUrl}/eu-moved/test?msg=x`);
    assert.equal(a.status, 503);
    assert.equal(a.body.error.code, 'no_healthy_upstream');
    await app.setHealthy(true);
    await waitFor('the instance back', async () => (await envoyHealthy('eu-echo')).length === 1, { timeoutMs: 5_000, intervalMs: 50 });
  });

  it('drops an instance whose lease lapses (no heartbeats), and takes it back when its client registers again', async () => {
    const app = await mesh.addInstance({
      service: 'eu-lease',
      id: 'eu-lease-1',
      meta: { 'gateway-path': '/eu-lease' },
      registry: { kind: 'eureka', url: eureka.url, heartbeatMs: HEARTBEAT_MS },
    });
    const at = `127.0.0.1:${app.port}`;
    await waitFor('the instance in Envoy', async () => (await envoyHealthy('eu-lease')).includes(at), { timeoutMs: 10_000, intervalMs: 50 });
    app.process.child.kill('SIGSTOP');
    try {
      // Its lease is three heartbeats; the server evicts lapsed leases every second.
      await waitFor('Envoy to drop the instance', async () => !(await envoyHosts('eu-lease')).includes(at), { timeoutMs: 15_000, intervalMs: 100 });
    } finally {
      app.process.child.kill('SIGCONT');
    }
    // Its next heartbeat is refused (404) and the client registers again.
    await waitFor('the instance registered again', async () => (await envoyHealthy('eu-lease')).includes(at), { timeoutMs: 10_000, intervalMs: 100 });
  });

  it('reads STARTING, DOWN and OUT_OF_SERVICE as not healthy, and keeps serving the rest', async () => {
    const statuses: RestInstance['status'][] = ['UP', 'STARTING', 'DOWN', 'OUT_OF_SERVICE'];
    for (const [n, status] of statuses.entries()) {
      await rest.register({ app: 'eu-states', id: `states-${n}`, address: `127.0.2.${n + 1}`, port: 9100 + n, status, meta: { 'gateway-path': '/states' } });
    }
    await waitFor('Envoy to hold all four', async () => (await envoyHosts('eu-states')).length === 4, { timeoutMs: 5_000, intervalMs: 50 });
    assert.deepEqual(await envoyHealthy('eu-states'), ['127.0.2.1:9100']);
  });

  it('keeps the last view while Eureka is down (the outage in /debug/registries and metrics), then follows it again', async () => {
    await eureka.stop();
    await waitFor('the outage to show', async () => (await registries()).find((r) => r.registry === 'eureka')?.up === false, { timeoutMs: 10_000, intervalMs: 100 });
    const metrics = await (await fetch(`http://127.0.0.1:${mesh.ports.xdsAdmin}/metrics`)).text();
    assert.match(metrics, /meshgate_registry_up\{registry="eureka"\} 0/);
    assert.ok((await debugMesh()).problems.some((p) => p.subject === 'registry/eureka' && /not answering/.test(p.reason)));
    assert.ok((await instancesAnswering(mesh.gatewayUrl, 3, '/eu-moved/test?msg=x')).has('eu-echo-1'), 'still routed from the last view');

    // A standalone server forgets every lease when it restarts; clients register again at their next heartbeat.
    await eureka.start();
    await waitFor('eureka up again', async () => (await registries()).find((r) => r.registry === 'eureka')?.up === true, { timeoutMs: 20_000, intervalMs: 100 });
    await waitFor('the client’s instance back after its re-registration', async () => (await instancesAnswering(mesh.gatewayUrl, 3, '/eu-moved/test?msg=x')).has('eu-echo-1'), {
      timeoutMs: 15_000,
      intervalMs: 200,
    }).catch(async (err) => {
      throw new Error(`${(err as Error).message}; eureka holds ${JSON.stringify(await eureka.apps())}; the mesh ${JSON.stringify((await debugMesh()).services.find((s) => s.name === 'eu-echo'))}`);
    });
  });

  it('after random churn, Envoy’s healthy set equals Eureka’s', async () => {
    const random = seededRandom(25);
    const live = new Map<string, RestInstance>();
    const statuses: RestInstance['status'][] = ['UP', 'UP', 'DOWN', 'STARTING', 'OUT_OF_SERVICE'];
    const meta = { 'gateway-path': '/churn' };
    for (let step = 0; step < 50; step++) {
      const ids = [...live.keys()];
      const op = random(3);
      if (op === 0 || ids.length < 3) {
        const i: RestInstance = { app: 'eu-churn', id: `churn-${step}`, address: `127.0.3.${1 + random(200)}`, port: 11_000 + step, status: statuses[random(statuses.length)]!, meta };
        await rest.register(i);
        live.set(i.id, i);
      } else if (op === 1) {
        const id = ids[random(ids.length)]!;
        await rest.cancel('eu-churn', id);
        live.delete(id);
      } else {
        const id = ids[random(ids.length)]!;
        const i = { ...live.get(id)!, status: statuses[random(statuses.length)]! };
        await rest.register(i); // a client registering again with another status
        live.set(id, i);
      }
      if (random(4) === 0) await sleep(random(300));
    }
    const expected = await rest.upInstances('eu-churn');
    assert.ok(expected.length > 0, 'the churn leaves healthy instances');
    await envoyHoldsHealthy('eu-churn', expected);
  });

  it('drops an instance whose client stops (its lease cancelled)', async () => {
    await mesh.services.find((s) => s.id === 'eu-echo-1')!.stop();
    await waitFor('Envoy to drop the instance', async () => (await envoyHosts('eu-echo')).length === 0, { timeoutMs: 5_000, intervalMs: 50 });
    assert.equal((await request(`${mesh.gatewayUrl}/eu-moved/test?msg=x`)).status, 503);
  });
});
