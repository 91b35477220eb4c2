// A proxy's Prometheus endpoint, over xDS: a listener of its own (node metadata `stats_port`)
// whose one route, GET /stats/prometheus, goes to the proxy's admin on loopback. Prometheus
// scrapes Envoy's stats without reaching the admin API, which can drain listeners, quit the
// process and change log levels; every other path is a 404. Added to whatever the proxy's role
// translates to, as Istio's 15090 listener is.
import type { JsonObject } from '../../shared/proto/codec.js';
import { ROUTER_FILTER } from './http-listener.js';
import type { Translation } from './resource-set.js';

export interface StatsEndpoint {
  readonly address: string;
  readonly port: number;
  /** Where this proxy's admin listens (its own loopback). */
  readonly adminAddress: string;
  readonly adminPort: number;
}

export const STATS_LISTENER = 'meshgate~stats';
export const ADMIN_CLUSTER = 'meshgate~admin';
export const STATS_PATH = '/stats/prometheus';

function statsListener(s: StatsEndpoint): JsonObject {
  return {
    name: STATS_LISTENER,
    address: { socket_address: { address: s.address, port_value: s.port } },
    // A scraper needs a few connections, never thousands.
    per_connection_buffer_limit_bytes: 32_768,
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'meshgate_stats',
              // Scrapes are not traffic: no access log, no tracing, no request id.
              generate_request_id: false,
              request_timeout: '10s',
              route_config: {
                name: STATS_LISTENER,
                virtual_hosts: [
                  {
                    name: 'stats',
                    domains: ['*'],
                    routes: [
                      { match: { path: STATS_PATH, headers: [{ name: ':method', string_match: { exact: 'GET' } }] }, route: { cluster: ADMIN_CLUSTER, timeout: '10s' } },
                      { match: { prefix: '/' }, direct_response: { status: 404, body: { inline_string: `only GET ${STATS_PATH} is served here\n` } } },
                    ],
                  },
                ],
              },
              http_filters: [ROUTER_FILTER],
            },
          },
        ],
      },
    ],
  };
}

function adminCluster(s: StatsEndpoint): JsonObject {
  return {
    name: ADMIN_CLUSTER,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: ADMIN_CLUSTER, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: s.adminAddress, port_value: s.adminPort } } } }] }] },
    circuit_breakers: { thresholds: [{ max_connections: 8, max_pending_requests: 8, max_requests: 8 }] },
  };
}

/** The role's translation with the stats endpoint, when the proxy asked for one. */
export function withStatsEndpoint(t: Translation, s: StatsEndpoint | undefined): Translation {
  if (!s) return t;
  return {
    ...t,
    resources: {
      ...t.resources,
      listener: [...t.resources.listener, { name: STATS_LISTENER, resource: statsListener(s) }],
      cluster: [...t.resources.cluster, { name: ADMIN_CLUSTER, resource: adminCluster(s) }],
    },
  };
}
