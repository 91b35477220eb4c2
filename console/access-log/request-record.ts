// One request as the console keeps it, from an entry of Envoy's gRPC access log
// (envoy.data.accesslog.v3.HTTPAccessLogEntry): who asked what, who answered, how it ended.
// Every text is cut to a bound, so a flood of long paths cannot grow the window's memory.
import { EXT_AUTHZ_METADATA_NAMESPACE } from '../../shared/identity-headers.js';
import { durationMs, metadataOf, ms, num, type RawEntry } from '../../shared/access-log/entry.js';
import { LLM_METADATA_NAMESPACE, USAGE_METADATA_KEYS } from '../../shared/llm-gateway.js';

export interface RequestRecord {
  readonly at: string;
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Envoy's response flags that were set (no_healthy_upstream, upstream_request_timeout, …). */
  readonly flags: readonly string[];
  readonly details: string;
  /** The upstream cluster: the service (or model~<id>); "" when Envoy answered itself. */
  readonly service: string;
  readonly upstream: string;
  readonly route: string;
  readonly durationMs: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly tenant?: string;
  readonly model?: string;
  readonly totalTokens?: number;
}

const TEXT_MAX = 256;
const cut = (s: unknown): string => (typeof s === 'string' ? (s.length > TEXT_MAX ? `${s.slice(0, TEXT_MAX)}…` : s) : '');

const METHODS = ['', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];

export function requestRecord(e: RawEntry): RequestRecord {
  const c = e.common_properties ?? {};
  const start = ms(c.start_time);
  const flags = Object.entries(c.response_flags ?? {})
    .filter(([, v]) => v === true || (v !== null && typeof v === 'object' && Object.keys(v).length > 0))
    .map(([k]) => k)
    .sort();
  const llm = metadataOf(e, LLM_METADATA_NAMESPACE);
  const authz = metadataOf(e, EXT_AUTHZ_METADATA_NAMESPACE);
  const totalTokens = llm[USAGE_METADATA_KEYS.total]?.number_value;
  const address = c.upstream_remote_address?.socket_address;
  const method = typeof e.request?.request_method === 'number' ? (METHODS[e.request.request_method] ?? '') : cut(e.request?.request_method);
  return {
    at: start !== undefined ? new Date(start).toISOString() : new Date().toISOString(),
    requestId: cut(e.request?.request_id),
    method,
    path: cut(e.request?.original_path || e.request?.path),
    status: e.response?.response_code?.value ?? 0,
    flags,
    details: cut(e.response?.response_code_details),
    service: cut(c.upstream_cluster),
    upstream: address?.address ? `${address.address}:${address.port_value ?? 0}` : '',
    route: cut(c.route_name),
    durationMs: Math.round(durationMs(e) * 10) / 10,
    bytesIn: num(e.request?.request_headers_bytes) + num(e.request?.request_body_bytes),
    bytesOut: num(e.response?.response_headers_bytes) + num(e.response?.response_body_bytes),
    ...(authz['tenant']?.string_value ? { tenant: cut(authz['tenant'].string_value) } : {}),
    ...(llm['model']?.string_value ? { model: cut(llm['model'].string_value) } : {}),
    ...(totalTokens !== undefined ? { totalTokens } : {}),
  };
}
