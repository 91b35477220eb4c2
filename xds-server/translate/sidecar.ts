// The sidecar of service X: an inbound listener in front of the local app, and an outbound
// listener on loopback where the app calls other services by name (Host: llm-b, or
// http://llm-b/… with the sidecar as its HTTP proxy). Only the services X declares as upstreams
// get clusters and routes: scoped config, not the whole mesh.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { MeshState } from '../model/mesh.js';
import { chainTargets, type Target } from '../resolve/chain.js';
import type { ServicePolicy } from '../resolve/policy-types.js';
import { upstreamProtocolOptions } from './cluster.js';
import { durationOf } from './duration.js';
import { httpListener, ROUTER_FILTER } from './http-listener.js';
import { chainServices, TranslationMemo } from './memo.js';
import type { Translation } from './resource-set.js';

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

export function translateSidecar(state: MeshState, role: SidecarRole, memo: TranslationMemo = new TranslationMemo()): Translation {
  const notes: string[] = [];
  const targets = new Map<string, Target>();
  const vhosts: JsonObject[] = [];
  const dependsOn = new Set<string>([role.service]);
  const policy = memo.policy(state, role.service);
  for (const upstream of policy.upstreams) {
    if (!state.services.has(upstream) && !state.entries.splitters.has(upstream)) notes.push(`upstream ${upstream} of ${role.service} is not in the catalog`);
    const chain = memo.chain(state, upstream);
    notes.push(...chain.notes);
    for (const t of chainTargets(chain)) targets.set(t.id, t);
    for (const s of chainServices(chain)) dependsOn.add(s);
    vhosts.push(memo.virtualHost(state, upstream));
  }
  const sorted = [...targets.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // Sidecars of one service (and outbound listeners of all) are alike: share their pieces.
  const own = [role.service];
  const inbound = memo.shared(state, `inbound\u0000${role.service}\u0000${role.inboundAddress}:${role.inboundPort}`, own, () => inboundListener(policy, role));
  const outbound = memo.shared(state, `outbound\u0000${role.outboundPort}`, [], () => outboundListener(role.outboundPort));
  const app = memo.shared(state, `local_app\u0000${role.service}\u0000${role.appPort}`, own, () => localApp(policy, role));
  return {
    resources: {
      cluster: [{ name: LOCAL_APP, resource: app }, ...sorted.map((t) => ({ name: t.id, resource: memo.cluster(state, t) }))].sort((a, b) =>
        a.name < b.name ? -1 : 1,
      ),
      endpoint: sorted.map((t) => ({ name: t.id, resource: memo.endpoints(state, t) })),
      listener: [
        { name: 'inbound', resource: inbound },
        { name: 'outbound', resource: outbound },
      ],
      route: [{ name: OUTBOUND_ROUTES, resource: { name: OUTBOUND_ROUTES, virtual_hosts: vhosts } }],
    },
    notes: [...new Set(notes)],
    dependsOn,
  };
}
