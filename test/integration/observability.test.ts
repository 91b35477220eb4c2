// Prometheus with meshgate's generated configuration and rules against a real mesh (Consul, the
// xds-server, a gateway Envoy, a service): it finds every target through the xds-server's view
// of Consul, traffic shows up per service with the right counts, a 5xx burst fires the 5xx
// alert, and a NACKing proxy fires its alert. The alerts' `for` is shortened; the expressions
// are the shipped ones (promtool tests them with their real `for`).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGatewayMesh, type GatewayMesh } from '../../launcher/mesh.js';
import type { ModelServiceProcess } from '../../launcher/model-service.js';
import { startPrometheus, type PrometheusServer } from '../../launcher/prometheus.js';
import { waitFor } from '../../launcher/wait.js';
import { OVERSIZED_REGEX } from '../helpers/oversized-regex.js';

describe('Prometheus on the mesh', () => {
  let mesh: GatewayMesh;
  let prom: PrometheusServer;
  let chat: ModelServiceProcess;
  const call = () => fetch(`${mesh.gatewayUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"x","messages":[{"role":"user","content":"hello"}]}' });
  const value = async (expr: string): Promise<number | undefined> => (await prom.query(expr))[0]?.value;

  before(async () => {
    mesh = await startGatewayMesh({ xdsArgs: ['--register'] });
    chat = await mesh.addInstance({ service: 'llm-chat', id: 'llm-chat-1', meta: { 'gateway-path': '/v1/' } });
    await waitFor('the route', async () => (await call()).ok, { timeoutMs: 20_000, intervalMs: 200 });
    prom = await startPrometheus({
      dir: mesh.dir,
      config: { discovery: { kind: 'xds-server', url: `http://127.0.0.1:${mesh.ports.xdsAdmin}` }, scrapeInterval: '1s', evaluationInterval: '1s' },
      rules: { for: { MeshgateServiceErrorRatio: '0s', MeshgateProxyNacked: '0s' } },
      logFile: `${mesh.dir}/prometheus.log`,
    });
  });

  after(async () => {
    await prom?.stop();
    await mesh?.stop();
  });

  it('finds the gateway Envoy and the xds-server through the xds-server’s view of Consul, and scrapes them', async () => {
    const targets = await waitFor('both targets up', async () => {
      const t = await prom.targets();
      const up = (job: string) => t.find((x) => x.labels['job'] === job && x.health === 'up');
      return up('meshgate-envoy') && up('meshgate') ? t : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    const envoy = targets.find((t) => t.labels['job'] === 'meshgate-envoy')!;
    assert.equal(envoy.labels['role'], 'gateway');
    assert.equal(envoy.labels['instance'], `meshgate-envoy-it-gateway-${mesh.ports.gateway}`);
    assert.match(envoy.scrapeUrl, new RegExp(`^http://127\\.0\\.0\\.1:${mesh.ports.envoyStats}/stats/prometheus\\?usedonly=`));
    assert.ok(targets.some((t) => t.labels['job'] === 'meshgate' && t.labels['consul_service'] === 'xds-server'));
  });

  it('counts the traffic per service: the raw counter exact, the recorded rate live', async () => {
    const before = (await value('envoy_cluster_upstream_rq_completed{job="meshgate-envoy",service="llm-chat"}')) ?? 0;
    for (let i = 0; i < 30; i++) assert.equal((await call()).status, 200);
    await waitFor('30 more requests in Prometheus', async () => (await value('envoy_cluster_upstream_rq_completed{job="meshgate-envoy",service="llm-chat"}')) === before + 30, { timeoutMs: 20_000, intervalMs: 500 });
    const rate = await waitFor('the recorded rate', async () => {
      const v = await value('service:meshgate_requests:rate1m{service="llm-chat"}');
      return v !== undefined && v > 0 ? v : undefined;
    }, { timeoutMs: 20_000, intervalMs: 500 });
    assert.ok(rate > 0);
    assert.equal(await value('service:meshgate_success_ratio:rate1m{service="llm-chat"}'), 1);
  });

  it('fires the 5xx alert on a burst of 503s, naming the service', async () => {
    await chat.failWith(503);
    try {
      // Envoy makes a service's 5xx counter at its first 5xx: a burst inside one scrape
      // interval would be that counter's first sample, an increase no rate can see. One 503 first.
      const xx5 = 'envoy_cluster_upstream_rq_xx{job="meshgate-envoy",service="llm-chat",envoy_response_code_class="5"}';
      const before = (await value(xx5)) ?? 0;
      assert.equal((await call()).status, 503);
      await waitFor('the 5xx counter scraped', async () => ((await value(xx5)) ?? 0) > before, { timeoutMs: 20_000, intervalMs: 250 });
      for (let i = 0; i < 40; i++) assert.equal((await call()).status, 503);
      const alert = await waitFor('the 5xx alert firing', async () => (await prom.alerts()).find((a) => a.labels['alertname'] === 'MeshgateServiceErrorRatio' && a.state === 'firing'), {
        timeoutMs: 30_000,
        intervalMs: 500,
      });
      assert.equal(alert.labels['service'], 'llm-chat');
      assert.equal(alert.labels['severity'], 'page');
      assert.match(alert.annotations['summary']!, /^llm-chat: \d+(\.\d+)?% of requests answered 5xx \(over 5%\)$/);
    } finally {
      await chat.failWith(undefined);
    }
  });

  it('fires the NACK alert for a proxy that rejects its routes', async () => {
    // RE2 accepts this regex; Envoy refuses it (program size over its limit).
    await mesh.consul.api.kvPut(
      'meshgate/config/llm-chat-router',
      `Kind: service-router\nName: llm-chat\nRoutes:\n  - Match: {HTTP: {PathPrefix: /v1/x/, Header: [{Name: x-key, Regex: "${OVERSIZED_REGEX}"}]}}\n    Destination: {Service: llm-chat}\n`,
    );
    try {
      const alert = await waitFor('the NACK alert firing', async () => (await prom.alerts()).find((a) => a.labels['alertname'] === 'MeshgateProxyNacked' && a.state === 'firing'), {
        timeoutMs: 30_000,
        intervalMs: 500,
      });
      assert.equal(alert.labels['node_id'], `it-gateway-${mesh.ports.gateway}`);
    } finally {
      await mesh.consul.api.kvDelete('meshgate/config/llm-chat-router');
    }
    await waitFor('the NACK alert resolved', async () => !(await prom.alerts()).some((a) => a.labels['alertname'] === 'MeshgateProxyNacked'), { timeoutMs: 30_000, intervalMs: 500 });
  });
});
