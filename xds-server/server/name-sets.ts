// Subscribed resource names, interned: a thousand identical gateways that each subscribe to the
// same thousand clusters share one set instead of holding a thousand copies.
const interned = new Map<string, WeakRef<ReadonlySet<string>>>();
const cleanup = new FinalizationRegistry<string>((key) => {
  if (interned.get(key)?.deref() === undefined) interned.delete(key);
});

export const NO_NAMES: ReadonlySet<string> = new Set();

export function internNames(names: Iterable<string>): ReadonlySet<string> {
  const sorted = [...new Set(names)].sort();
  if (sorted.length === 0) return NO_NAMES;
  const key = sorted.join('\u0000');
  const hit = interned.get(key)?.deref();
  if (hit) return hit;
  const set: ReadonlySet<string> = new Set(sorted);
  interned.set(key, new WeakRef(set));
  cleanup.register(set, key);
  return set;
}

export function sameNames(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.size !== b.size) return false;
  for (const n of a) if (!b.has(n)) return false;
  return true;
}
