import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage, encodeMessage } from '../../shared/proto/codec.js';
import { formatDuration, parseDuration } from '../../shared/proto/json.js';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';

describe('proto3 JSON codec', () => {
  it('round-trips durations, wrappers, enums, Any and Struct', () => {
    const cluster = {
      name: 'c',
      type: 'EDS',
      connect_timeout: '0.25s',
      lb_policy: 'LEAST_REQUEST',
      common_lb_config: { healthy_panic_threshold: { value: 0 } },
      per_connection_buffer_limit_bytes: 1024,
      metadata: { filter_metadata: { meshgate: { team: 'ml', weight: 2.5, tags: ['a', null, true], nested: { x: 1 } } } },
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 100 } },
        },
      },
    };
    assert.deepEqual(decodeMessage(CLUSTER, encodeMessage(CLUSTER, cluster)), cluster);
  });

  it('refuses a field the schema does not have, naming where it is', () => {
    assert.throws(
      () => encodeMessage(CLUSTER, { name: 'c', eds_cluster_config: { eds_confg: {} } }),
      /Cluster\.eds_cluster_config: unknown field "eds_confg" in envoy\.config\.cluster\.v3\.Cluster\.EdsClusterConfig/,
    );
  });

  it('refuses an unknown type inside an Any', () => {
    assert.throws(
      () => encodeMessage(CLUSTER, { name: 'c', typed_extension_protocol_options: { x: { '@type': 'type.googleapis.com/no.Such' } } }),
      /unknown type type\.googleapis\.com\/no\.Such/,
    );
  });

  it('refuses a malformed duration', () => {
    assert.throws(() => encodeMessage(CLUSTER, { name: 'c', connect_timeout: '5 seconds' }), /invalid duration "5 seconds"/);
  });

  it('parses and formats durations', () => {
    assert.deepEqual(parseDuration('1.5s'), { seconds: 1, nanos: 500_000_000 });
    assert.deepEqual(parseDuration('30s'), { seconds: 30, nanos: 0 });
    assert.deepEqual(parseDuration('0.000000001s'), { seconds: 0, nanos: 1 });
    assert.equal(formatDuration(1, 500_000_000), '1.5s');
    assert.equal(formatDuration(0, 250_000_000), '0.25s');
    assert.equal(formatDuration(30, 0), '30s');
  });
});
