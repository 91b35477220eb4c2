// A service → one Envoy cluster whose endpoints arrive over EDS on the ADS stream.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { Service } from '../model/mesh.js';
import { ADS_SOURCE, durationOf } from './resource-set.js';

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export function serviceCluster(service: Service): JsonObject {
  const cluster: JsonObject = {
    name: service.name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_SOURCE, service_name: service.name },
    connect_timeout: durationOf(service.settings.connectTimeoutMs),
    lb_policy: 'ROUND_ROBIN',
    // Consul's health is authoritative: never spread load onto instances it marked critical,
    // which Envoy's default panic mode (below 50% healthy) would do.
    common_lb_config: { healthy_panic_threshold: { value: 0 } },
  };
  if (service.settings.protocol !== 'http') {
    cluster['typed_extension_protocol_options'] = {
      [HTTP_PROTOCOL_OPTIONS]: {
        '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`,
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  }
  return cluster;
}
