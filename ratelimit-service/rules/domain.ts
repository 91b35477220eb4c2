// A domain's descriptors compiled into lookup trees: one map per level by "key_value" and
// "key", plus the level's wildcard values ("prefix*") in file order.
import { parseUnit, unitSeconds, type Unit } from '../limiter/units.js';
import type { DescriptorSpec, DomainSpec } from './schema.js';

export type Algorithm = 'fixed_window' | 'sliding_window';

export interface ConfiguredLimit {
  readonly domain: string;
  /** "key_value.key2" — the stats key (without the domain), as envoyproxy/ratelimit builds it. */
  readonly statsKey: string;
  readonly unit: Unit;
  readonly requestsPerUnit: number;
  readonly unlimited: boolean;
  readonly shadowMode: boolean;
  /** Over the limit answers OK with the limit, and does not make the whole answer OVER_LIMIT. */
  readonly quotaMode: boolean;
  readonly name: string | undefined;
  readonly replaces: readonly string[];
  readonly detailedMetric: boolean;
  readonly algorithm: Algorithm;
  /** The limit as an answer states it (current_limit, with the rule's name): built with the
   * limit, not per request. */
  readonly current: { readonly requestsPerUnit: number; readonly unit: Unit; readonly name?: string };
  readonly windowSeconds: number;
}

/** A limit with what answers derive from it filled in, frozen. */
export function configuredLimit(l: Omit<ConfiguredLimit, 'current' | 'windowSeconds'>): ConfiguredLimit {
  const current = Object.freeze({ requestsPerUnit: l.requestsPerUnit, unit: l.unit, ...(l.name ? { name: l.name } : {}) });
  return Object.freeze({ ...l, current, windowSeconds: unitSeconds(l.unit) });
}

export interface DescriptorNode {
  readonly byKey: ReadonlyMap<string, DescriptorNode>;
  readonly wildcards: ReadonlyArray<readonly [prefix: string, node: DescriptorNode]>;
  readonly limit: ConfiguredLimit | undefined;
  /** share_threshold on a wildcard: every value it matches counts on this one value ("files*"). */
  readonly sharedValue?: string;
}

export interface CompiledDomain {
  readonly name: string;
  readonly root: DescriptorNode;
  readonly limits: readonly ConfiguredLimit[];
  /** Whether any limit replaces another: without, requests skip that step. */
  readonly hasReplaces: boolean;
}

function compileLevel(domain: string, parentKey: string, specs: readonly DescriptorSpec[], all: ConfiguredLimit[]): DescriptorNode {
  const byKey = new Map<string, DescriptorNode>();
  const wildcards: Array<readonly [string, DescriptorNode]> = [];
  for (const d of specs) {
    const finalKey = d.value ? `${d.key}_${d.value}` : d.key;
    const statsKey = parentKey + finalKey;
    let limit: ConfiguredLimit | undefined;
    if (d.rate_limit) {
      const r = d.rate_limit;
      limit = configuredLimit({
        domain,
        statsKey,
        unit: r.unlimited ? 'SECOND' : parseUnit(r.unit!)!,
        requestsPerUnit: r.requests_per_unit,
        unlimited: r.unlimited,
        shadowMode: d.shadow_mode,
        quotaMode: d.quota_mode,
        name: r.name || undefined,
        replaces: r.replaces.map((x) => x.name),
        detailedMetric: d.detailed_metric,
        algorithm: r.algorithm,
      });
      all.push(limit);
    }
    const children = compileLevel(domain, `${statsKey}.`, d.descriptors, all);
    const node: DescriptorNode = {
      byKey: children.byKey,
      wildcards: children.wildcards,
      limit,
      ...(d.share_threshold && d.value?.endsWith('*') ? { sharedValue: d.value } : {}),
    };
    byKey.set(finalKey, node);
    if (finalKey.endsWith('*')) wildcards.push([finalKey.slice(0, -1), node]);
  }
  return { byKey, wildcards, limit: undefined };
}

export function compileDomain(spec: DomainSpec): CompiledDomain {
  const limits: ConfiguredLimit[] = [];
  const root = compileLevel(spec.domain, '', spec.descriptors, limits);
  return { name: spec.domain, root, limits, hasReplaces: limits.some((l) => l.replaces.length > 0) };
}
