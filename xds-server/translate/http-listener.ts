// An HTTP listener (an HTTP connection manager with JSON local replies and an access log), for
// every role: the gateway's edge listener, a sidecar's inbound and outbound listeners.
import type { JsonObject } from '../../shared/proto/codec.js';
import { grpcAccessLog, stdoutAccessLog } from './access-log.js';
import { EDGE_LISTEN_BACKLOG } from '../resolve/defaults.js';
import { jsonLocalReplies } from './local-reply.js';
import { ADS_SOURCE } from './resource-set.js';

export const ROUTER_FILTER: JsonObject = {
  name: 'envoy.filters.http.router',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
};

export interface HttpListenerOptions {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly statPrefix: string;
  /** Routes over RDS (by this name), or inline. */
  readonly routes: { readonly rds: string } | { readonly inline: JsonObject };
  readonly httpFilters: readonly JsonObject[];
  /** At the edge: trust no client address or request id, normalise paths, drop odd headers. */
  readonly edge: boolean;
  /** Ignore the port in Host when choosing a virtual host ("llm-b:80" is "llm-b"). */
  readonly stripHostPort?: boolean;
  /** Also send the access log to this gRPC access-log service (its cluster). */
  readonly accessLogService?: string;
  /** More access logs (the gateway's direct model calls, to the processor). */
  readonly moreAccessLogs?: readonly JsonObject[];
}

export function httpListener(o: HttpListenerOptions): JsonObject {
  const hcm: JsonObject = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: o.statPrefix,
    codec_type: 'AUTO',
    server_name: 'meshgate',
  };
  if (o.edge) {
    Object.assign(hcm, {
      // The client address is the peer's, not whatever X-Forwarded-For claims, and Envoy makes
      // its own x-request-id.
      use_remote_address: true,
      normalize_path: true,
      merge_slashes: true,
      // "/v1%2Fadmin" must not slip past a prefix rule for "/v1/admin".
      path_with_escaped_slashes_action: 'UNESCAPE_AND_REDIRECT',
      // Headers with underscores can alias dashed ones in some upstreams; drop them at the edge.
      common_http_protocol_options: { headers_with_underscores_action: 'DROP_HEADER' },
      request_headers_timeout: '10s',
    });
  }
  if (o.stripHostPort) hcm['strip_any_host_port'] = true;
  if ('rds' in o.routes) hcm['rds'] = { route_config_name: o.routes.rds, config_source: ADS_SOURCE };
  else hcm['route_config'] = o.routes.inline;
  hcm['http_filters'] = o.httpFilters;
  hcm['local_reply_config'] = jsonLocalReplies();
  hcm['access_log'] = [...stdoutAccessLog(), ...(o.accessLogService ? [grpcAccessLog(o.accessLogService)] : []), ...(o.moreAccessLogs ?? [])];
  return {
    name: o.name,
    address: { socket_address: { address: o.address, port_value: o.port } },
    ...(o.edge ? { tcp_backlog_size: EDGE_LISTEN_BACKLOG } : {}),
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
  };
}
