// What a service's sidecar needs, resolved: the service's own policy (how its local app is
// spoken to, its inbound timeout) and the chain of every upstream it may call — scoped config,
// not the whole mesh. Reused, the same object, while nothing it read changed: the controller
// translates a sidecar role again only when its view is a new object.
import { chainOf, type Chain } from './chain.js';
import type { MeshReader } from './mesh-reader.js';
import type { ServicePolicy } from './policy-types.js';
import { servicePolicy } from './service-policy.js';

export interface ResolvedSidecar {
  readonly service: string;
  readonly policy: ServicePolicy;
  /** In the order of the policy's upstreams (sorted by name). */
  readonly upstreams: readonly Chain[];
  readonly notes: readonly string[];
}

export function resolveSidecar(m: MeshReader, service: string): ResolvedSidecar {
  return m.memo('sidecar', service, () => {
    const policy = servicePolicy(m, service);
    const notes: string[] = [];
    const upstreams = policy.upstreams.map((upstream) => {
      if (!m.service(upstream) && !m.splitter(upstream)) notes.push(`upstream ${upstream} of ${service} is not in the catalog`);
      const chain = chainOf(m, upstream);
      notes.push(...chain.notes);
      return chain;
    });
    return { service, policy, upstreams, notes: [...new Set(notes)] };
  });
}

/** Proxyless gRPC clients may dial every service that is not infrastructure. */
export interface ResolvedProxyless {
  readonly chains: readonly Chain[];
  readonly notes: readonly string[];
}

/** Whole-mesh: resolved anew on every change (its chains are reused). */
export function resolveProxyless(m: MeshReader, infrastructure: ReadonlySet<string>): ResolvedProxyless {
  const chains = [...m.services().keys()].filter((s) => !infrastructure.has(s)).map((s) => chainOf(m, s));
  return { chains, notes: [...new Set(chains.flatMap((c) => c.notes))] };
}
