// Who is on the other end of a stream, from the Envoy `node` of its first request.
export interface NodeInfo {
  readonly id: string;
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** "envoy 1.40.0" or "grpc-node-js 1.14.7". */
  readonly userAgent: string;
}

export function nodeInfoOf(node: Record<string, unknown> | undefined): NodeInfo | undefined {
  if (!node || typeof node['id'] !== 'string' || node['id'] === '') return undefined;
  const buildVersion = node['user_agent_build_version'] as { version?: { major_number?: number; minor_number?: number; patch?: number } } | undefined;
  const v = buildVersion?.version;
  const version = (node['user_agent_version'] as string | undefined) ?? (v ? `${v.major_number ?? 0}.${v.minor_number ?? 0}.${v.patch ?? 0}` : '');
  return {
    id: node['id'] as string,
    cluster: (node['cluster'] as string | undefined) ?? '',
    metadata: (node['metadata'] as Record<string, unknown> | undefined) ?? {},
    userAgent: `${(node['user_agent_name'] as string | undefined) ?? 'unknown'} ${version}`.trim(),
  };
}
