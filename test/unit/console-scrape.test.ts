// The console's own scrape: Prometheus' text format read for the wanted names only, and
// histogram_quantile as Prometheus computes it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { histogramQuantile, parseExposition } from '../../console/scrape/exposition.js';

describe('console: its own scrape', () => {
  it('reads the wanted series of an exposition, labels unescaped, the rest skipped', () => {
    const text = [
      '# TYPE envoy_cluster_upstream_rq_total counter',
      'envoy_cluster_upstream_rq_total{envoy_cluster_name="llm-chat"} 42',
      'envoy_cluster_upstream_rq_total{envoy_cluster_name="a\\"b",x="y,z"} 7 1700000000000',
      'envoy_cluster_upstream_cx_total{envoy_cluster_name="llm-chat"} 9',
      'envoy_control_plane_connected_state{} 1',
      'meshgate_xds_ready 1',
      'envoy_cluster_upstream_rq_total{broken 3',
      '',
    ].join('\n');
    assert.deepEqual(parseExposition(text, new Set(['envoy_cluster_upstream_rq_total', 'envoy_control_plane_connected_state', 'meshgate_xds_ready'])), [
      { name: 'envoy_cluster_upstream_rq_total', labels: { envoy_cluster_name: 'llm-chat' }, value: 42 },
      { name: 'envoy_cluster_upstream_rq_total', labels: { envoy_cluster_name: 'a"b', x: 'y,z' }, value: 7 },
      { name: 'envoy_control_plane_connected_state', labels: {}, value: 1 },
      { name: 'meshgate_xds_ready', labels: {}, value: 1 },
    ]);
  });

  it('computes quantiles from cumulative buckets as histogram_quantile does', () => {
    // 100 observations: 50 under 10, 40 in (10, 100], 10 in (100, +Inf).
    const b = [[10, 50], [100, 90], [Infinity, 100]] as const;
    assert.equal(histogramQuantile(0.5, b), 10);
    assert.equal(histogramQuantile(0.7, b), 10 + 90 * (20 / 40));
    assert.equal(histogramQuantile(0.99, b), 100, 'in the +Inf bucket: the last finite bound');
    assert.equal(histogramQuantile(0.5, [[10, 0], [Infinity, 0]]), undefined, 'no observations');
  });
});
