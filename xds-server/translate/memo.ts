// Translation results shared across roles and across rebuilds. A thousand sidecars that call
// the same service get the same cluster and endpoint JSON objects (and so, in the snapshot
// layer, the same encoded bytes), and a rebuild after one service changed recomputes only what
// read that service. An entry is valid while every service it read is the same object as when
// it was computed (the mesh store keeps unchanged services as the same objects) and the config
// entries are the same; the cache is just that, so translation stays pure: with or without
// it, the same state gives the same resources.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { ConfigEntries, MeshState, Service } from '../model/mesh.js';
import { chainTargets, compileChain, type Chain, type Target } from '../resolve/chain.js';
import type { ServicePolicy } from '../resolve/policy-types.js';
import { resolveServicePolicy } from '../resolve/service-policy.js';
import { targetCluster } from './cluster.js';
import { loadAssignment } from './endpoints.js';
import { upstreamVirtualHost } from './upstream-routes.js';

interface Entry {
  readonly names: readonly string[];
  readonly deps: ReadonlyArray<Service | undefined>;
  readonly value: unknown;
}

/** The services a chain reads: its own, and every target's and failover's. */
export function chainServices(chain: Chain): Set<string> {
  const out = new Set<string>([chain.service]);
  for (const t of chainTargets(chain)) {
    out.add(t.service);
    for (const f of t.failover) out.add(f.service);
  }
  return out;
}

/**
 * What a target is, for the cache: its id (the cluster name) does not say it alone — a model's
 * cluster keeps its id while the services behind it change order — its service and failover do.
 */
function targetKey(t: Target): string {
  const meta = (x: Target): string => (x.hostMetadata ? JSON.stringify(x.hostMetadata) : '');
  return [t.id, t.service, meta(t), ...t.failover.map((f) => `${f.id}\u0001${meta(f)}`)].join('\u0000');
}

export class TranslationMemo {
  private entries: ConfigEntries | undefined;
  private readonly cache = new Map<string, Entry>();

  get size(): number {
    return this.cache.size;
  }

  /** The resolved policy of calling `service`. */
  policy(state: MeshState, service: string): ServicePolicy {
    return this.get(state, `policy\u0000${service}`, () => ({ value: resolveServicePolicy(state, service), reads: [service] }));
  }

  chain(state: MeshState, service: string): Chain {
    return this.get(state, `chain\u0000${service}`, () => {
      const chain = compileChain(state, service, (s) => this.policy(state, s));
      return { value: chain, reads: chainServices(chain) };
    });
  }

  cluster(state: MeshState, target: Target): JsonObject {
    return this.get(state, `cluster\u0000${targetKey(target)}`, () => ({ value: targetCluster(target, this.policy(state, target.service)), reads: [target.service] }));
  }

  endpoints(state: MeshState, target: Target): JsonObject {
    return this.get(state, `endpoints\u0000${targetKey(target)}`, () => ({
      value: loadAssignment(state, target),
      reads: [target.service, ...target.failover.map((f) => f.service)],
    }));
  }

  virtualHost(state: MeshState, service: string): JsonObject {
    return this.get(state, `vhost\u0000${service}`, () => {
      const chain = this.chain(state, service);
      return { value: upstreamVirtualHost(chain, [service]), reads: chainServices(chain) };
    });
  }

  /** Any other piece of translation that reads only `reads` (besides the config entries). */
  shared<T>(state: MeshState, key: string, reads: readonly string[], compute: () => T): T {
    return this.get(state, `shared\u0000${key}`, () => ({ value: compute(), reads }));
  }

  /** Forget what only vanished services used. */
  prune(state: MeshState): void {
    for (const [key, e] of this.cache) if (e.names.every((n) => !state.services.has(n))) this.cache.delete(key);
  }

  private get<T>(state: MeshState, key: string, compute: () => { value: T; reads: Iterable<string> }): T {
    if (state.entries !== this.entries) {
      this.cache.clear();
      this.entries = state.entries;
    }
    const hit = this.cache.get(key);
    if (hit && hit.names.every((n, i) => state.services.get(n) === hit.deps[i])) return hit.value as T;
    const { value, reads } = compute();
    const names = [...new Set(reads)];
    this.cache.set(key, { names, deps: names.map((n) => state.services.get(n)), value });
    return value;
  }
}
