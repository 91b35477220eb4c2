// Outages of the control plane and of Consul: callers keep being served on the last good
// config, nothing empty or stale is pushed, and changes flow again once things are back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sleep, waitFor } from '../../launcher/wait.js';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import { request, steadyTraffic, type EchoBody } from '../helpers/http.js';

interface ProxyView {
  node_id: string;
  types: Record<string, { status: string; acked_version: string | null }>;
}

describe('resilience: xds-server and Consul outages', () => {
  let mesh: GatewayMesh;

  before(async () => {
    mesh = await startGatewayMesh({ persistentConsul: true });
    await mesh.addInstance({ service: 'steady', id: 'steady-1', meta: { 'gateway-path': '/steady' } });
    await waitFor('steady routable', async () => (await request(`${mesh.gatewayUrl}/steady`)).status === 200, {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
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
        return gw && Object.values(gw.types).every((t) => t.status === 'SYNCED') ? gw : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  }

  it('keeps serving while the xds-server restarts, then takes changes again', async () => {
    const traffic = steadyTraffic(`${mesh.gatewayUrl}/steady`);
    await sleep(300);
    await mesh.xds.stop();
    await sleep(1_500); // Envoy has lost its ADS stream
    await mesh.restartXds();
    const gw = await waitReconnected();
    const counts = await traffic.stop();
    assert.deepEqual([...counts.keys()], ['200'], `answers during the restart: ${JSON.stringify([...counts])}`);
    assert.ok((counts.get('200') ?? 0) > 20);
    assert.ok(gw.types['cluster']!.acked_version);

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
    await waitFor(
      'consul watch errors to be counted',
      async () => /^meshgate_consul_watch_errors_total\{watch="catalog"\} [1-9]/m.test(await (await fetch(`${mesh.xds.adminUrl}/metrics`)).text()),
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    await sleep(1_000);
    const during = (await mesh.xds.getJson<ProxyView[]>('/debug/proxies')).find((p) => p.node_id === gatewayNode())!;
    for (const t of ['cluster', 'endpoint', 'listener', 'route']) {
      assert.equal(during.types[t]!.acked_version, versionsBefore[t]!.acked_version, `${t} unchanged while Consul is down`);
    }

    // An xds-server that starts while Consul is down is not ready and serves nothing.
    await mesh.restartXds();
    const ready = await fetch(`${mesh.xds.adminUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(((await ready.json()) as { reason: string }).reason, /first full Consul sync/);
    await sleep(2_000); // Envoy reconnects meanwhile, and must not be sent anything
    const waiting = (await mesh.xds.getJson<ProxyView[]>('/debug/proxies')).find((p) => p.node_id === gatewayNode());
    assert.ok(waiting, 'the gateway reconnected');
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
