// The console's own scrape end to end in this process: targets as the xds-server lists them,
// two scrapes 15 s apart, and the rates, success, quantiles, tokens and time to first token
// worked out from what changed between them.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EmbeddedMetrics } from '../../console/scrape/embedded-metrics.js';

describe('console: its own scrape of the targets', () => {
  let server: http.Server;
  let base = '';
  let round = 0;
  before(async () => {
    server = http.createServer((req, res) => {
      const port = (server.address() as AddressInfo).port;
      if (req.url === '/prometheus/targets') {
        const target = (service: string, id: string, path: string) => ({
          targets: ['127.0.0.1:1'],
          labels: { __meta_consul_service: service, __meta_consul_service_id: id, '__meta_consul_service_metadata_metrics_address': '127.0.0.1', '__meta_consul_service_metadata_metrics_port': String(port), '__meta_consul_service_metadata_metrics_path': path },
        });
        res.end(JSON.stringify([target('meshgate-envoy', 'envoy-gw', '/envoy'), target('ext-proc', 'ext-proc-1', '/processor'), target('ext-authz', 'authz-gone', '/gone')]));
        return;
      }
      const n = round; // cumulative counts grow by one round's worth per scrape
      if (req.url?.startsWith('/envoy?usedonly')) {
        res.end(
          [
            `envoy_cluster_upstream_rq_completed{envoy_cluster_name="llm"} ${150 * n}`,
            `envoy_cluster_upstream_rq_xx{envoy_cluster_name="llm",envoy_response_code_class="2"} ${135 * n}`,
            `envoy_cluster_upstream_rq_xx{envoy_cluster_name="llm",envoy_response_code_class="5"} ${15 * n}`,
            `envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="llm",le="10"} ${75 * n}`,
            `envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="llm",le="100"} ${150 * n}`,
            `envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="llm",le="+Inf"} ${150 * n}`,
            `envoy_cluster_upstream_rq_completed{envoy_cluster_name="meshgate~admin"} ${1000 * n}`,
          ].join('\n'),
        );
        return;
      }
      if (req.url === '/processor') {
        res.end(
          [
            `gen_ai_client_token_usage_sum{gen_ai_operation_name="chat",gen_ai_request_model="m",service="llm",tenant="a",gen_ai_token_type="input"} ${300 * n}`,
            `gen_ai_server_time_to_first_token_seconds_bucket{gen_ai_operation_name="chat",gen_ai_request_model="m",service="llm",tenant="a",le="0.1"} ${10 * n}`,
            `gen_ai_server_time_to_first_token_seconds_bucket{gen_ai_operation_name="chat",gen_ai_request_model="m",service="llm",tenant="a",le="+Inf"} ${10 * n}`,
          ].join('\n'),
        );
        return;
      }
      res.statusCode = 503;
      res.end('down');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('works out per-service rates and quantiles from two scrapes, and says which target failed and why', async () => {
    const m = new EmbeddedMetrics({ xdsAdmin: base, intervalMs: 15_000, timeoutMs: 2_000 });
    round = 1;
    await m.scrapeOnce(1_000_000);
    round = 2;
    await m.scrapeOnce(1_015_000);
    const t = m.traffic();
    const value = (s: typeof t.rps, service = 'llm') => (s.ok ? s.data.find((x) => x.labels['service'] === service)?.value : undefined);
    assert.equal(value(t.rps), 10, '150 requests in 15 s');
    assert.equal(value(t.successRatio), 0.9);
    assert.equal(value(t.p50Ms), 10);
    assert.equal(value(t.p99Ms), 10 + 90 * ((148.5 - 75) / 75));
    assert.equal(value(t.tokensPerSecond), 20);
    assert.equal(value(t.ttftP50Seconds), 0.05);
    assert.equal(value(t.rps, 'meshgate~admin'), undefined, 'the proxies’ own clusters are not services');
    const targets = m.targets();
    assert.ok(targets.ok);
    assert.deepEqual(targets.data.map((x) => [x.labels['instance'], x.health, x.lastError]).sort(), [
      ['authz-gone', 'down', 'HTTP 503'],
      ['envoy-gw', 'up', ''],
      ['ext-proc-1', 'up', ''],
    ]);
    const series = m.series('llm');
    assert.deepEqual(series.rps, [[1_015, 10]]);
  });

  it('says the discovery failed, with why, when the xds-server does not answer', async () => {
    // A port nobody listens on: one this process held a moment ago.
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const m = new EmbeddedMetrics({ xdsAdmin: `http://127.0.0.1:${port}`, timeoutMs: 1_000 });
    await m.scrapeOnce();
    const rps = m.traffic().rps;
    assert.ok(!rps.ok);
    assert.equal(rps.source, 'xds-server');
    assert.match(rps.reason, /ECONNREFUSED/);
  });
});
