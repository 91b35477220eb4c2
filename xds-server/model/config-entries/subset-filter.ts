// Subset filters in the part of Consul's filter language (go-bexpr) that subsets use:
//   Service.Meta.version == v2            Service.Meta.zone != "us-east-1a"
//   Service.Tags contains canary          Service.Tags not contains legacy
// clauses joined by "and". Parsed once, when the entry is validated.

/** What a filter reads of an instance. */
export interface Labelled {
  readonly meta: Readonly<Record<string, string>>;
  readonly tags: readonly string[];
}

export type FilterClause =
  | { readonly kind: 'meta'; readonly key: string; readonly value: string; readonly negate: boolean }
  | { readonly kind: 'tag'; readonly tag: string; readonly negate: boolean };

export type SubsetFilter = readonly FilterClause[];

function unquote(v: string): string {
  const t = v.trim();
  return (t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'")) ? t.slice(1, -1) : t;
}

export function parseSubsetFilter(text: string): SubsetFilter | string {
  const clauses: FilterClause[] = [];
  for (const raw of text.split(/\s+and\s+/i)) {
    const c = raw.trim();
    let m = /^Service\.Meta\.([A-Za-z0-9_.-]+)\s*(==|!=)\s*(.+)$/.exec(c);
    if (m) {
      clauses.push({ kind: 'meta', key: m[1]!, value: unquote(m[3]!), negate: m[2] === '!=' });
      continue;
    }
    m = /^Service\.Tags\s+(not\s+)?contains\s+(.+)$/.exec(c);
    if (m) {
      clauses.push({ kind: 'tag', tag: unquote(m[2]!), negate: !!m[1] });
      continue;
    }
    return `cannot read ${JSON.stringify(c)}: use Service.Meta.<key> == <value>, Service.Meta.<key> != <value>, Service.Tags contains <tag> or Service.Tags not contains <tag>, joined by "and"`;
  }
  return clauses;
}

export function matchesFilter(instance: Labelled, filter: SubsetFilter): boolean {
  for (const c of filter) {
    const hit = c.kind === 'meta' ? instance.meta[c.key] === c.value : instance.tags.includes(c.tag);
    if (hit === c.negate) return false;
  }
  return true;
}
