// What changed in one type between two snapshots of a role. Every stream of the role moves
// between the same two snapshots, so the diff is computed once and shared (memoized on the
// older snapshot), and each stream only filters it by what it subscribes to.
import type { EncodedResource } from './encoded-resource.js';
import type { TypeSnapshot } from './snapshot.js';

export interface TypeDiff {
  /** Resources new in `to` or with another version than in `from`. */
  readonly changed: readonly EncodedResource[];
  /** Names in `from` that `to` no longer has. */
  readonly removed: readonly string[];
}

const memo = new WeakMap<TypeSnapshot, { to: TypeSnapshot; diff: TypeDiff }>();

export function diffTypeSnapshots(from: TypeSnapshot, to: TypeSnapshot): TypeDiff {
  const hit = memo.get(from);
  if (hit && hit.to === to) return hit.diff;
  const changed: EncodedResource[] = [];
  const removed: string[] = [];
  if (from.version !== to.version) {
    for (const [name, r] of to.resources) if (from.resources.get(name)?.version !== r.version) changed.push(r);
    for (const name of from.resources.keys()) if (!to.resources.has(name)) removed.push(name);
  }
  const diff = { changed, removed };
  memo.set(from, { to, diff });
  return diff;
}
