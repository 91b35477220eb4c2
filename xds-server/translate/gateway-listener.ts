// The gateway's one HTTP listener: an HTTP connection manager whose routes come over RDS.
import type { JsonObject } from '../../shared/proto/codec.js';
import { stdoutAccessLog } from './access-log.js';
import { jsonLocalReplies } from './local-reply.js';
import { ADS_SOURCE } from './resource-set.js';

export const GATEWAY_LISTENER = 'gateway_http';
export const GATEWAY_ROUTES = 'gateway_routes';

export interface ListenerAddress {
  readonly address: string;
  readonly port: number;
}

export function gatewayListener(at: ListenerAddress, httpFilters: JsonObject[]): JsonObject {
  const hcm: JsonObject = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'gateway',
    codec_type: 'AUTO',
    server_name: 'meshgate',
    // The gateway is the edge: the client address is the peer's, not whatever X-Forwarded-For
    // claims, and Envoy makes its own x-request-id.
    use_remote_address: true,
    normalize_path: true,
    merge_slashes: true,
    // "/v1%2Fadmin" must not slip past a prefix rule for "/v1/admin".
    path_with_escaped_slashes_action: 'UNESCAPE_AND_REDIRECT',
    // Headers with underscores can alias dashed ones in some upstreams; drop them at the edge.
    common_http_protocol_options: { headers_with_underscores_action: 'DROP_HEADER' },
    request_headers_timeout: '10s',
    rds: { route_config_name: GATEWAY_ROUTES, config_source: ADS_SOURCE },
    http_filters: httpFilters,
    local_reply_config: jsonLocalReplies(),
    access_log: stdoutAccessLog(),
  };
  return {
    name: GATEWAY_LISTENER,
    address: { socket_address: { address: at.address, port_value: at.port } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
  };
}
