// The resolved mesh as operators read it (/debug/resolved, `meshgate resolved`): every setting
// with the layer that decided it, chains with their targets and endpoints, the gateway's route
// table with its owners and refused claims, transcoded services, the model routing, each
// sidecar's upstreams. A target's policy is shown once, with its service.
import type { Action, Chain, ChainRoute, FailoverTarget, PathLogin, ResolvedGateway, ResolvedMesh, Target } from '../resolve/resolved-mesh.js';

type View = Record<string, unknown>;

function endpointsView(t: FailoverTarget): View[] {
  return t.endpoints.map((e) => ({ id: e.id, address: `${e.address}:${e.port}`, health: e.health, ...(e.zone ? { zone: e.zone } : {}), weight: e.weight }));
}

function targetView(t: Target): View {
  return {
    cluster: t.id,
    service: t.service,
    ...(t.subset ? { subset: t.subset } : {}),
    endpoints: endpointsView(t),
    ...(t.failover.length ? { failover: t.failover.map((f) => ({ cluster: f.id, service: f.service, endpoints: endpointsView(f), ...(f.hostMetadata ? { metadata: f.hostMetadata } : {}) })) } : {}),
    ...(t.hostMetadata ? { metadata: t.hostMetadata } : {}),
  };
}

function actionView(a: Action): View {
  return a.kind === 'target' ? { cluster: a.target.id } : { split: a.splits.map((s) => ({ weight: s.weight, cluster: s.target.id })) };
}

function routeView(r: ChainRoute): View {
  return { ...(r.match ? { match: r.match } : {}), to: actionView(r.action), policy: r.policy };
}

function chainView(c: Chain): View {
  return { routes: c.routes.map(routeView), fallback: routeView(c.fallback), targets: c.targets.map(targetView), ...(c.notes.length ? { notes: c.notes } : {}) };
}

/** A path's login as operators see it: secrets by name and size, never their values. */
function loginView(l: PathLogin): View {
  if (l.kind === 'unavailable') return { name: l.name, unavailable: l.reason };
  const { secrets, tokenEndpoint, ...rest } = l.login;
  return { ...rest, tokenEndpoint: { url: tokenEndpoint.url, cluster: tokenEndpoint.cluster.name }, secrets: secrets.map((s) => s.toJSON()) };
}

function gatewayView(g: ResolvedGateway | undefined, only?: string): View {
  if (!g) return {};
  const mine = <T extends { service: string }>(list: readonly T[]): readonly T[] => (only ? list.filter((x) => x.service === only) : list);
  const models = g.models;
  const routed = models?.routing?.models.filter((m) => !only || m.services.includes(only));
  return {
    ...(only ? {} : { identity_headers: g.identityHeaders }),
    paths: mine(g.paths).map((p) => ({
      prefix: p.prefix,
      separated: p.separated,
      service: p.service,
      ...(p.authPolicy !== undefined ? { auth_policy: p.authPolicy } : {}),
      ...(p.rateLimits.length ? { rate_limits: p.rateLimits } : {}),
      ...(p.admission ? { admission: p.admission } : {}),
      ...(p.login ? { login: loginView(p.login) } : {}),
      routes: p.routes.map((r) => ({ ...(r.index !== undefined ? { router_route: r.index } : {}), ...routeView(r.route) })),
    })),
    transcoded: mine(g.transcoded).map((t) => ({
      service: t.service,
      grpc_services: t.descriptor.grpcServices,
      descriptor: { source: t.descriptor.source, digest: t.descriptor.digest },
      transcoding: t.transcoding,
      max_request_bytes: t.maxRequestBytes,
      ...(t.authPolicy !== undefined ? { auth_policy: t.authPolicy } : {}),
      ...(t.admission ? { admission: t.admission } : {}),
    })),
    conflicts: only ? g.conflicts.filter((c) => c.owner === only || c.refused === only) : g.conflicts,
    ...(models
      ? {
          models: {
            catalog: only ? models.catalog.filter((c) => c.services.includes(only)) : models.catalog,
            ...(only ? {} : { list: models.list, entries: models.entries, max_request_bytes: models.maxRequestBytes, limits: models.limits ?? null }),
            ...(routed
              ? { routed: routed.map((m) => ({ id: m.id, services: m.services, timeout_ms: m.timeoutMs, endpoint_picker: m.endpointPicker, direct_calls: m.direct, server_priority: m.serverPriority, dialects: m.dialects, decidedBy: m.decidedBy, renamed: m.renamed, cluster: targetView(m.target), ...(m.door ? { door: { cluster: m.door.id, max_calls: m.door.policy.circuitBreakers.maxRequests } } : {}) })) }
              : {}),
            ...(models.routing && !only ? { aliases: models.routing.aliases, logged: models.routing.logged } : {}),
          },
        }
      : {}),
    ...(only ? {} : { clusters: g.clusters.map((t) => t.id), notes: g.notes }),
  };
}

/** The whole resolved mesh, or what concerns one service (undefined: no such service). */
export function resolvedView(r: ResolvedMesh, service?: string): View | undefined {
  if (service !== undefined) {
    const s = r.services.get(service);
    const sidecar = r.sidecars.get(service);
    if (!s && !sidecar) return undefined;
    return {
      revision: r.revision,
      service,
      ...(s ? { policy: s.policy, chain: chainView(s.chain) } : {}),
      ...(r.infrastructure.some((i) => i.service === service) ? { infrastructure: r.infrastructure.find((i) => i.service === service) } : {}),
      gateway: gatewayView(r.gateway, service),
      ...(sidecar ? { sidecar: { upstreams: sidecar.upstreams.map((c) => c.service), ...(sidecar.notes.length ? { notes: sidecar.notes } : {}) } } : {}),
      descriptors: {
        wanted: r.descriptors.wanted.filter((w) => w.service === service).map(({ key: _, ...w }) => w),
        refused: r.descriptors.refused.filter((x) => x.service === service),
      },
    };
  }
  return {
    revision: r.revision,
    infrastructure: r.infrastructure,
    services: Object.fromEntries([...r.services].map(([name, s]) => [name, { policy: s.policy, chain: chainView(s.chain) }])),
    gateway: gatewayView(r.gateway),
    sidecars: Object.fromEntries([...r.sidecars].map(([name, s]) => [name, { upstreams: s.upstreams.map((c) => c.service), ...(s.notes.length ? { notes: s.notes } : {}) }])),
    proxyless: { services: r.proxyless?.chains.map((c) => c.service) ?? [] },
    descriptors: { wanted: r.descriptors.wanted.map(({ key: _, ...w }) => w), refused: r.descriptors.refused },
  };
}
