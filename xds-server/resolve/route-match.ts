// A route's match in meshgate's terms, normalised once from a service-router's `Match.HTTP`
// (Consul's wire shape stays in the model): the path, header and query-parameter conditions, and
// the methods. Translators spell it in Envoy's terms.
import type { HttpMatch } from '../model/config-entries/schema.js';

export type StringMatch =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'suffix'; readonly value: string }
  | { readonly kind: 'regex'; readonly value: string };

export type PathMatch = { readonly kind: 'exact' | 'prefix' | 'regex'; readonly value: string };

export interface HeaderCondition {
  /** Lower case. */
  readonly name: string;
  /** `present`: the header is there (true) or absent (false); otherwise its value matches. */
  readonly match: StringMatch | { readonly kind: 'present'; readonly value: boolean };
  readonly invert: boolean;
}

export interface QueryCondition {
  readonly name: string;
  readonly match: { readonly kind: 'exact' | 'regex'; readonly value: string } | { readonly kind: 'present'; readonly value: boolean };
}

export interface RouteMatch {
  /** Absent: the route's base path (the gateway path it falls under, else every path). */
  readonly path?: PathMatch;
  readonly headers: readonly HeaderCondition[];
  readonly query: readonly QueryCondition[];
  /** Absent: every method. */
  readonly methods?: readonly string[];
}

function stringMatch(m: { Exact?: string | undefined; Prefix?: string | undefined; Suffix?: string | undefined; Regex?: string | undefined }): StringMatch {
  if (m.Exact !== undefined) return { kind: 'exact', value: m.Exact };
  if (m.Prefix !== undefined) return { kind: 'prefix', value: m.Prefix };
  if (m.Suffix !== undefined) return { kind: 'suffix', value: m.Suffix };
  return { kind: 'regex', value: m.Regex! };
}

export function routeMatchOf(m: HttpMatch | undefined): RouteMatch | undefined {
  if (!m) return undefined;
  const path: PathMatch | undefined =
    m.PathExact !== undefined ? { kind: 'exact', value: m.PathExact } : m.PathPrefix !== undefined ? { kind: 'prefix', value: m.PathPrefix } : m.PathRegex !== undefined ? { kind: 'regex', value: m.PathRegex } : undefined;
  return {
    ...(path ? { path } : {}),
    headers: (m.Header ?? []).map((h) => ({
      name: h.Name.toLowerCase(),
      match: h.Present !== undefined ? { kind: 'present', value: h.Present } : stringMatch(h),
      invert: !!h.Invert,
    })),
    query: (m.QueryParam ?? []).map((q) => ({
      name: q.Name,
      match: q.Present !== undefined ? { kind: 'present', value: q.Present } : q.Exact !== undefined ? { kind: 'exact', value: q.Exact } : { kind: 'regex', value: q.Regex! },
    })),
    ...(m.Methods?.length ? { methods: m.Methods } : {}),
  };
}
