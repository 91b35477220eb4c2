// Outages of the control plane and of Consul: callers keep being served on the last good
// config, nothing empty or stale is pushed, and changes flow again once things are back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../launcher/wait.js';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { request, steadyTraffic, trafficOf, type EchoBody } from '../helpers/http.js';

interface ProxyView {
  node_id: string;
  types: Record<string, { status: string; acked_version: string | null }>;
}

/** Services besides `steady`, so that a first sync has several services' health to wait for. */
const FLEET = 6;

describe('resilience: xds-server and Consul outages', () => {
  let mesh: GatewayMesh;

  before(async () => {
    mesh = await startGatewayMesh({ persistentConsul: true });
    await mesh.addInstance({ service: 'steady', id: 'steady-1', meta: { 'gateway-path': '/steady' } });
    for (let i = 0; i < FLEET; i++) await mesh.addInstance({ service: `fleet-${i}`, id: `fleet-${i}-1`, meta: { 'gateway-path': `/fleet-${i}` } });
    for (const path of ['/steady', ...Array.from({ length: FLEET }, (_, i) => `/fleet-${i}`)]) {
      await waitFor(`${path} routable`, async () => (await request(`${mesh.gatewayUrl}${path}`)).status === 200, { timeoutMs: 15_000, intervalMs: 100 });
    }
  });

  after(async () => {
    await mesh?.stop();
  });

  const gatewayNode = (): string => `it-gateway-${mesh.ports.gateway}`;

  async function waitReconnected(): Promise<ProxyView> {
    return waitFor(
      'the gateway to reconnect and be SYNCED',
      async () => {
        const proxies = await mesh.xds.getJson<ProxyView[]>('/debug/proxies');
        const gw = proxies.find((p) => p.node_id === gatewayNode());
        return gw && Object.entries(gw.types).every(([type, t]) => t.status === 'SYNCED' || (type === 'secret' && t.status === 'NOT_SUBSCRIBED')) ? gw : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  }

  it('keeps serving while the xds-server restarts, sends nothing before its first full sync, then takes changes again', async () => {
    const before = (await waitReconnected()).types;
    let n = 0;
    const paths = ['/steady', ...Array.from({ length: FLEET }, (_, i) => `/fleet-${i}`)];
    const traffic = trafficOf(() => fetch(`${mesh.gatewayUrl}${paths[n++ % paths.length]}`, { signal: AbortSignal.timeout(5_000) }));
    await waitFor('traffic flowing', async () => n > 5, { timeoutMs: 5_000, intervalMs: 20 });
    await mesh.xds.stop();
    await waitFor('Envoy to lose its ADS stream', async () => ((await mesh.envoy.admin.stat('control_plane.connected_state')) ?? 1) === 0, { timeoutMs: 10_000, intervalMs: 50 });
    await mesh.restartXds();
    const gw = await waitReconnected();
    const counts = await traffic.stop();
    assert.deepEqual([...counts.keys()], ['200'], `answers during the restart, every service: ${JSON.stringify([...counts])} ${traffic.failures.join(' | ')}`);
    assert.ok((counts.get('200') ?? 0) > 20);
    // The new server's first snapshot was the whole mesh, health included: the versions Envoy
    // holds are the ones it had before, and no type took more than one response to get there.
    for (const type of ['cluster', 'endpoint', 'listener', 'route']) {
      assert.equal(gw.types[type]!.acked_version, before[type]!.acked_version, `${type}: the same config as before the restart`);
    }
    const metrics = await (await fetch(`${mesh.xds.adminUrl}/metrics`)).text();
    for (const type of ['cluster', 'endpoint', 'listener', 'route']) {
      const pushes = Number(new RegExp(`^meshgate_xds_pushes_total\\{type="${type}"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
      assert.ok(pushes <= 1, `${type}: ${pushes} responses since the restart (a partial first snapshot would need more)`);
    }

    await mesh.addInstance({ service: 'after-restart', id: 'after-restart-1', meta: { 'gateway-path': '/after-restart' } });
    const a = await waitFor(
      'a service registered after the restart to be routable',
      async () => {
        const r = await request<EchoBody>(`${mesh.gatewayUrl}/after-restart`);
        return r.status === 200 ? r : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    assert.equal(a.body.instance, 'after-restart-1');
  });

  it('keeps the last config while Consul is down, pushes nothing, and follows Consul again once it is back', async () => {
    const before = await mesh.xds.getJson<ProxyView[]>('/debug/proxies');
    const versionsBefore = before.find((p) => p.node_id === gatewayNode())!.types;
    const traffic = steadyTraffic(`${mesh.gatewayUrl}/steady`);
    await mesh.consul.stop();

    // The watches fail and say so; the model and the proxies keep what they had.
    const watchErrors = async (): Promise<number> =>
      Number(/^meshgate_consul_watch_errors_total\{watch="catalog"\} (\d+)/m.exec(await (await fetch(`${mesh.xds.adminUrl}/metrics`)).text())?.[1] ?? 0);
    const first = await waitFor('consul watch errors to be counted', async () => (await watchErrors()) || undefined, { timeoutMs: 10_000, intervalMs: 200 });
    // The watches have retried and failed again since: the model has had its chance to change.
    await waitFor('the watches to fail again', async () => (await watchErrors()) > first, { timeoutMs: 15_000, intervalMs: 200 });
    const during = (await mesh.xds.getJson<ProxyView[]>('/debug/proxies')).find((p) => p.node_id === gatewayNode())!;
    for (const t of ['cluster', 'endpoint', 'listener', 'route']) {
      assert.equal(during.types[t]!.acked_version, versionsBefore[t]!.acked_version, `${t} unchanged while Consul is down`);
    }

    // An xds-server that starts while Consul is down is not ready and serves nothing.
    await mesh.restartXds();
    const ready = await fetch(`${mesh.xds.adminUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(((await ready.json()) as { reason: string }).reason, /waiting for the first full sync of consul \(connect ECONNREFUSED/);
    // Envoy reconnects meanwhile, and is sent nothing: not one response of any type.
    const waiting = await waitFor(
      'the gateway to reconnect to the unsynced server',
      async () => (await mesh.xds.getJson<ProxyView[]>('/debug/proxies')).find((p) => p.node_id === gatewayNode()),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    assert.ok(waiting);
    const sent = await (await fetch(`${mesh.xds.adminUrl}/metrics`)).text();
    assert.doesNotMatch(sent, /^meshgate_xds_pushes_total\{type="\w+"\} [1-9]/m, 'nothing is pushed before the first sync');
    assert.equal((await request(`${mesh.gatewayUrl}/steady`)).status, 200, 'the gateway still routes on its last config');

    await mesh.consul.start();
    await waitReconnected();
    const counts = await traffic.stop();
    // Consul's restarted agent reruns its health checks, so an instance may be briefly critical;
    // what matters is that the gateway never lost its routes (no 404) nor failed outright.
    assert.equal(counts.get('404'), undefined, JSON.stringify([...counts]));
    assert.equal(counts.get('error'), undefined, JSON.stringify([...counts]));
    assert.ok((counts.get('200') ?? 0) > 50, JSON.stringify([...counts]));

    await mesh.addInstance({ service: 'after-consul', id: 'after-consul-1', meta: { 'gateway-path': '/after-consul' } });
    await waitFor('a service registered after Consul came back', async () => (await request(`${mesh.gatewayUrl}/after-consul`)).status === 200, {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
  });
});
