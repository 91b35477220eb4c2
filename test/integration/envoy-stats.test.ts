// Every Envoy's Prometheus stats without its admin: the gateway's and a sidecar's stats listener
// (over xDS) answers GET /stats/prometheus with per-service request counts, size and latency
// histograms in the buckets model services need; nothing else of the admin is reachable there.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGatewayMesh, type GatewayMesh, type SidecarInstance } from '../../launcher/mesh.js';
import { waitFor } from '../../launcher/wait.js';
import { ENVOY_METRICS } from '../../observability/envoy-metrics.js';

describe('Envoy stats over the stats listener', () => {
  let mesh: GatewayMesh;
  let sidecar: SidecarInstance;
  const stats = (port: number, p = '/stats/prometheus', method = 'GET') => fetch(`http://127.0.0.1:${port}${p}`, { method });

  before(async () => {
    // ext-authz in the chain, so that its stats exist too; one path checked (the others public), so that its admission gate's do.
    mesh = await startGatewayMesh({ authzPolicy: 'policies:\n  default:\n    credentials:\n      - type: api_key\n        keys: [{id: k, sha256: "00000000000000000000000000000000000000000000000000000000000000aa", subject: s}]\n' });
    await mesh.addInstance({ service: 'llm-chat', id: 'llm-chat-1', meta: { 'gateway-path': '/v1/', 'auth-policy': 'none' } });
    await mesh.addInstance({ service: 'guarded', id: 'guarded-1', meta: { 'gateway-path': '/guarded/', 'auth-policy': 'default' } });
    sidecar = await mesh.addSidecarInstance({ service: 'agent', id: 'agent-1', meta: { 'gateway-path': '/agent/', upstreams: 'llm-chat', 'auth-policy': 'none' } });
    await waitFor('the gateway route', async () => (await fetch(`${mesh.gatewayUrl}/v1/models`)).ok, { timeoutMs: 20_000, intervalMs: 200 });
    await waitFor('the checked route', async () => (await fetch(`${mesh.gatewayUrl}/guarded/test`)).status === 401, { timeoutMs: 20_000, intervalMs: 200 });
  });

  after(async () => {
    await mesh?.stop();
  });

  it('serves the gateway’s per-service counts, sizes and latency buckets in Prometheus text', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${mesh.gatewayUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"x","messages":[{"role":"user","content":"hello"}]}' })).status, 200);
    // Histograms are published at Envoy's stats flush (every 5 s).
    const text = await waitFor(
      'the counts',
      async () => {
        const t = await (await stats(mesh.ports.envoyStats)).text();
        return /envoy_cluster_upstream_rs_body_size_count\{envoy_cluster_name="llm-chat"\} ([5-9]|\d\d)/.test(t) ? t : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    assert.match(text, /envoy_cluster_upstream_rq_total\{envoy_cluster_name="llm-chat"\} ([5-9]|\d\d)/);
    assert.match(text, /# TYPE envoy_cluster_upstream_rq_time histogram/);
    // Milliseconds to minutes: the buckets the bootstrap sets, not Envoy's defaults.
    assert.match(text, /envoy_cluster_upstream_rq_time_bucket\{envoy_cluster_name="llm-chat",le="0\.5"\}/);
    assert.match(text, /envoy_cluster_upstream_rq_time_bucket\{envoy_cluster_name="llm-chat",le="300000"\}/);
    // Request and answer sizes per service (the cluster tracks them), in byte buckets.
    assert.match(text, /envoy_cluster_upstream_rq_body_size_bucket\{envoy_cluster_name="llm-chat",le="1000"\} [1-9]/);
  });

  it('serves every Envoy metric meshgate’s rules and dashboards read', async () => {
    const text = await (await fetch(`http://127.0.0.1:${mesh.ports.envoyStats}/stats/prometheus`)).text();
    for (const name of ENVOY_METRICS) assert.match(text, new RegExp(`^${name}\\{`, 'm'), name);
  });

  it('serves a sidecar’s stats the same way', async () => {
    const text = await waitFor('the sidecar stats', async () => {
      const r = await stats(sidecar.statsPort).catch(() => undefined);
      return r?.ok ? r.text() : undefined;
    }, { timeoutMs: 10_000, intervalMs: 200 });
    assert.match(text, /envoy_cluster_upstream_rq_total\{envoy_cluster_name="local_app"\}/);
  });

  it('is registered in Consul by the xds-server, with the metrics meta Prometheus reads, while its stream is open', async () => {
    const entries = await waitFor('both proxies registered and passing', async () => {
      const e = await mesh.consul.api.healthService('meshgate-envoy');
      return e.length === 2 && e.every((x) => x.Checks.every((c) => c.Status === 'passing')) ? e : undefined;
    }, { timeoutMs: 15_000, intervalMs: 250 });
    const byNode = new Map(entries.map((e) => [e.Service.Meta?.['node'], e.Service]));
    const gw = byNode.get(`it-gateway-${mesh.ports.gateway}`)!;
    assert.deepEqual([gw.Address, gw.Port, gw.Meta?.['metrics-port'], gw.Meta?.['metrics-path'], gw.Meta?.['role']], ['127.0.0.1', mesh.ports.envoyStats, String(mesh.ports.envoyStats), '/stats/prometheus', 'gateway']);
    const sc = byNode.get('agent-1-sidecar')!;
    assert.deepEqual([sc.Port, sc.Meta?.['service'], sc.Meta?.['role']], [sidecar.statsPort, 'agent', 'sidecar']);
    // What Prometheus would do with it: the stats page at that address.
    assert.equal((await fetch(`http://${gw.Meta?.['metrics-address']}:${gw.Meta?.['metrics-port']}${gw.Meta?.['metrics-path']}`)).status, 200);
  });

  it('reaches nothing else of the admin: other paths and methods are 404, the admin untouched', async () => {
    for (const [p, method] of [['/quitquitquit', 'POST'], ['/config_dump', 'GET'], ['/logging?level=trace', 'POST'], ['/stats/prometheus', 'POST'], ['/stats', 'GET']] as const) {
      const r = await stats(mesh.ports.envoyStats, p, method);
      assert.equal(r.status, 404, `${method} ${p}`);
    }
    // Still up, logging as it was.
    assert.equal((await fetch(`http://127.0.0.1:${mesh.ports.envoyAdmin}/ready`)).status, 200);
    assert.doesNotMatch(await (await fetch(`http://127.0.0.1:${mesh.ports.envoyAdmin}/logging`, { method: 'POST' })).text(), /: trace/);
  });

  it('deregisters a proxy once its stream is gone', async () => {
    await sidecar.stop();
    await waitFor('the sidecar deregistered', async () => {
      const e = await mesh.consul.api.healthService('meshgate-envoy');
      return e.length === 1 && e[0]!.Service.Meta?.['role'] === 'gateway';
    }, { timeoutMs: 15_000, intervalMs: 250 });
  });
});
