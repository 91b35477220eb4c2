// What ext-authz looks at in a request, taken once from Envoy's CheckRequest.
export interface CheckAttributes {
  readonly method: string;
  /** The path without its query. */
  readonly path: string;
  /** The raw query (after "?"), or ''. */
  readonly query: string;
  /** Lower-case header names, as Envoy sends them. */
  readonly headers: Readonly<Record<string, string>>;
  readonly requestId: string;
  /** From the route's context_extensions. */
  readonly policy: string | undefined;
  readonly route: string | undefined;
  /** The downstream client's address as Envoy saw it (attributes.source), or ''. */
  readonly source: string;
}

export function queryParam(req: CheckAttributes, name: string): string | undefined {
  if (!req.query) return undefined;
  return new URLSearchParams(req.query).get(name) ?? undefined;
}

export function attributesOf(
  method: string,
  target: string,
  headers: Readonly<Record<string, string>>,
  contextExtensions: Readonly<Record<string, string>>,
  requestId: string,
  source = '',
): CheckAttributes {
  const q = target.indexOf('?');
  return {
    method,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    headers,
    requestId,
    policy: contextExtensions['policy'],
    route: contextExtensions['route'],
    source,
  };
}
