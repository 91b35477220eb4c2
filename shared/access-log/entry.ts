// An entry of Envoy's gRPC access log (envoy.data.accesslog.v3.HTTPAccessLogEntry) as protobufjs
// decodes it, and the readings every receiver needs: numbers that may be Longs, durations,
// a namespace of the request's dynamic metadata.

export interface RawValue {
  string_value?: string;
  number_value?: number;
  bool_value?: boolean;
}
export interface RawStruct {
  fields?: Record<string, RawValue>;
}
export interface RawDuration {
  seconds?: number | { toNumber(): number };
  nanos?: number;
}
export interface RawEntry {
  common_properties?: {
    start_time?: RawDuration;
    duration?: RawDuration;
    time_to_last_downstream_tx_byte?: RawDuration;
    upstream_remote_address?: { socket_address?: { address?: string; port_value?: number } };
    upstream_cluster?: string;
    response_flags?: Record<string, unknown>;
    metadata?: { filter_metadata?: Record<string, RawStruct> };
    route_name?: string;
  };
  request?: { request_method?: number | string; path?: string; original_path?: string; request_id?: string; request_headers_bytes?: unknown; request_body_bytes?: unknown };
  response?: {
    response_code?: { value?: number };
    response_code_details?: string;
    response_headers_bytes?: unknown;
    response_body_bytes?: unknown;
    /** Those the logger was asked for (additional_response_headers_to_log). */
    response_headers?: Record<string, string>;
  };
}

export const num = (v: unknown): number => (typeof v === 'number' ? v : v && typeof (v as { toNumber?: () => number }).toNumber === 'function' ? (v as { toNumber(): number }).toNumber() : Number(v ?? 0) || 0);
export const ms = (d: RawDuration | undefined): number | undefined => (d ? num(d.seconds) * 1000 + (d.nanos ?? 0) / 1e6 : undefined);

/** The fields Envoy's request had in one dynamic metadata namespace ({} when it had none). */
export function metadataOf(e: RawEntry, namespace: string): Record<string, RawValue> {
  return e.common_properties?.metadata?.filter_metadata?.[namespace]?.fields ?? {};
}

/** How long the call took, in ms: the whole stream, or until its last byte was sent. */
export function durationMs(e: RawEntry): number {
  const c = e.common_properties ?? {};
  return ms(c.duration) ?? ms(c.time_to_last_downstream_tx_byte) ?? 0;
}
