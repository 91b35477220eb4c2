// The sidecar of service X: an inbound listener in front of the local app, and an outbound
// listener on loopback where the app calls other services by name (Host: llm-b, or
// http://llm-b/… with the sidecar as its HTTP proxy). Only the services X declares as upstreams
// get clusters and routes: scoped config, not the whole mesh.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { ServicePolicy } from '../resolve/policy-types.js';
import type { ResolvedSidecar } from '../resolve/resolved-mesh.js';
import { TranslationCache } from './cache.js';
import { upstreamProtocolOptions } from './cluster.js';
import { durationOf } from './duration.js';
import { httpListener, ROUTER_FILTER } from './http-listener.js';
import type { Translation } from './resource-set.js';
import { clusterResource, endpointResource, targetsOf } from './targets.js';
import { upstreamVirtualHost } from './upstream-routes.js';

import type { StatsEndpoint } from './stats-endpoint.js';

export interface SidecarRole {
  readonly kind: 'sidecar';
  readonly service: string;
  readonly inboundAddress: string;
  readonly inboundPort: number;
  readonly appPort: number;
  readonly outboundPort: number;
  /** Its Prometheus endpoint (added to the translation by the controller, as for a gateway). */
  readonly stats?: StatsEndpoint;
}

export const LOCAL_APP = 'local_app';
export const OUTBOUND_ROUTES = 'outbound';
/** The key the outbound listeners (alike for every sidecar, by port) are cached under. */
const OUTBOUND_LISTENERS = {};

/** The local app, as the service's own policy says to speak to it (its protocol). */
function localApp(own: ServicePolicy, role: SidecarRole): JsonObject {
  return {
    name: LOCAL_APP,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: LOCAL_APP,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: role.appPort } } } }] }],
    },
    ...upstreamProtocolOptions(own.protocol),
  };
}

/** In front of the app, with the same request timeout the service's callers have. */
function inboundListener(own: ServicePolicy, role: SidecarRole): JsonObject {
  const routes: JsonObject = {
    name: 'inbound',
    virtual_hosts: [
      {
        name: 'local_app',
        domains: ['*'],
        routes: [{ name: 'local_app', match: { prefix: '/' }, route: { cluster: LOCAL_APP, timeout: durationOf(own.requestTimeoutMs) } }],
      },
    ],
  };
  return httpListener({ name: 'inbound', address: role.inboundAddress, port: role.inboundPort, statPrefix: 'inbound', routes: { inline: routes }, httpFilters: [ROUTER_FILTER], edge: false });
}

function outboundListener(port: number): JsonObject {
  return httpListener({
    name: 'outbound',
    address: '127.0.0.1',
    port,
    statPrefix: 'outbound',
    routes: { rds: OUTBOUND_ROUTES },
    httpFilters: [ROUTER_FILTER],
    edge: false,
    stripHostPort: true,
  });
}

export function translateSidecar(view: ResolvedSidecar, role: SidecarRole, cache: TranslationCache = new TranslationCache()): Translation {
  const targets = targetsOf(view.upstreams);
  // Sidecars of one service (and outbound listeners of all) are alike: share their pieces.
  const inbound = cache.of(view.policy, `inbound\u0000${role.inboundAddress}:${role.inboundPort}`, () => inboundListener(view.policy, role));
  const outbound = cache.of(OUTBOUND_LISTENERS, String(role.outboundPort), () => outboundListener(role.outboundPort));
  const app = cache.of(view.policy, `local_app\u0000${role.appPort}`, () => localApp(view.policy, role));
  return {
    resources: {
      cluster: [{ name: LOCAL_APP, resource: app }, ...targets.map((t) => clusterResource(t, cache))].sort((a, b) => (a.name < b.name ? -1 : 1)),
      endpoint: targets.map((t) => endpointResource(t, cache)),
      secret: [],
      listener: [
        { name: 'inbound', resource: inbound },
        { name: 'outbound', resource: outbound },
      ],
      route: [{ name: OUTBOUND_ROUTES, resource: { name: OUTBOUND_ROUTES, virtual_hosts: view.upstreams.map((c) => cache.of(c, 'vhost', () => upstreamVirtualHost(c))) } }],
    },
    notes: view.notes,
  };
}
