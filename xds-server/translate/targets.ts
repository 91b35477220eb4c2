// The cluster and the endpoints of each target a role reaches: one of each per target, by id,
// in id order, translated once per resolved target (the cache) whichever role asks.
import type { Chain, Target } from '../resolve/resolved-mesh.js';
import type { TranslationCache } from './cache.js';
import { targetCluster } from './cluster.js';
import { loadAssignment } from './endpoints.js';
import type { NamedResource } from './resource-set.js';

/** Every target of these chains, once each, sorted by id. */
export function targetsOf(chains: readonly Chain[]): Target[] {
  const byId = new Map<string, Target>();
  for (const chain of chains) for (const t of chain.targets) byId.set(t.id, t);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function clusterResource(t: Target, cache: TranslationCache): NamedResource {
  return { name: t.id, resource: cache.of(t, 'cluster', () => targetCluster(t)) };
}

export function endpointResource(t: Target, cache: TranslationCache): NamedResource {
  return { name: t.id, resource: cache.of(t, 'endpoints', () => loadAssignment(t)) };
}
