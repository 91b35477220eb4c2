// Which configured limit a request descriptor gets — envoyproxy/ratelimit's rules:
//   at each level, "key_value" first, then a wildcard value ("prefix*", first in file order),
//   then "key" alone; a limit applies only at the level of the descriptor's last entry (the
//   request's depth must match the configuration's); the walk stops where the configuration
//   has no deeper level. A wildcard with share_threshold makes every value it matches count on
//   the wildcard's own value, at whatever depth the limit is.
import type { CompiledDomain, ConfiguredLimit, DescriptorNode } from './domain.js';

export interface Entry {
  readonly key: string;
  readonly value: string;
}

export interface LimitMatch {
  readonly limit: ConfiguredLimit;
  /** With detailed_metric on a limit matched by key alone: the value to show in metrics. */
  readonly detailedValue: string | undefined;
  /** Per entry, the value its counter uses instead of the request's (share_threshold). */
  readonly sharedValues: ReadonlyArray<string | undefined> | undefined;
}

export function matchLimit(domain: CompiledDomain, entries: readonly Entry[]): LimitMatch | undefined {
  let level: DescriptorNode = domain.root;
  let found: LimitMatch | undefined;
  let shared: Array<string | undefined> | undefined;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const keyValue = `${entry.key}_${entry.value}`;
    let next = level.byKey.get(keyValue);
    let byKeyOnly = false;
    if (!next) {
      for (const [prefix, node] of level.wildcards) {
        if (keyValue.startsWith(prefix)) {
          next = node;
          if (node.sharedValue !== undefined) (shared ??= new Array(entries.length).fill(undefined))[i] = node.sharedValue;
          break;
        }
      }
    }
    if (!next) {
      next = level.byKey.get(entry.key);
      byKeyOnly = next !== undefined;
    }
    if (next?.limit && i === entries.length - 1) {
      // Built without spreads: this runs for every descriptor of every request.
      found = { limit: next.limit, detailedValue: byKeyOnly && next.limit.detailedMetric ? entry.value : undefined, sharedValues: shared };
    }
    if (!next || next.byKey.size === 0) break;
    level = next;
  }
  return found;
}

/** The stats key for a descriptor whose limit came from the request (override) with no match. */
export function keysOnlyStatsKey(entries: readonly Entry[]): string {
  return entries.map((e) => e.key).join('.');
}
