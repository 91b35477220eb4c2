// A direct call (one Envoy routed by the body's model without the processor: the xds-server's
// translate/direct-calls.ts) as the processor reports it, read from the gateway's access-log
// entry: its operation by path, its model, the service that answered, the tenant ext-authz
// established, the usage Envoy read from the answer, the status and the duration. The same
// CallRecord a processed call makes, so the metrics cannot tell them apart.
import { durationMs, metadataOf, type RawEntry } from '../../shared/access-log/entry.js';
import { EXT_AUTHZ_METADATA_NAMESPACE } from '../../shared/identity-headers.js';
import { DIRECT_KEYS, DIRECT_METADATA_NAMESPACE, DIRECT_ROUTE_PREFIX, isDirectPath, LLM_METADATA_NAMESPACE, LLM_OPERATIONS, SERVICE_HEADER, USAGE_METADATA_KEYS } from '../../shared/llm-gateway.js';
import { usageOf } from '../openai/usage.js';
import type { CallRecord } from './call-record.js';

/** Undefined for an entry that is not a direct call's (another route took it, or its path is none a direct call takes). */
export function directCallRecord(e: RawEntry): CallRecord | undefined {
  if (!e.common_properties?.route_name?.startsWith(DIRECT_ROUTE_PREFIX)) return undefined;
  const model = metadataOf(e, DIRECT_METADATA_NAMESPACE)[DIRECT_KEYS.model]?.string_value;
  const path = (e.request?.original_path || e.request?.path || '').split('?')[0]!;
  if (!model || !isDirectPath(path)) return undefined;
  const operation = LLM_OPERATIONS[path as keyof typeof LLM_OPERATIONS];
  const llm = metadataOf(e, LLM_METADATA_NAMESPACE);
  const { prompt, completion, total } = USAGE_METADATA_KEYS;
  const filed = { [prompt]: llm[prompt]?.number_value, [completion]: llm[completion]?.number_value, [total]: llm[total]?.number_value };
  // Read as the answer's own usage would be (the same names).
  const usage = filed[prompt] !== undefined || filed[completion] !== undefined ? usageOf({ usage: filed }) : undefined;
  return {
    operation,
    clientDialect: 'openai',
    serviceDialect: 'openai',
    model,
    requestedModel: model,
    service: e.response?.response_headers?.[SERVICE_HEADER] ?? '',
    tenant: metadataOf(e, EXT_AUTHZ_METADATA_NAMESPACE)['tenant']?.string_value ?? '',
    usage,
    requestId: e.request?.request_id ?? '',
    status: e.response?.response_code?.value ?? 0,
    durationSeconds: durationMs(e) / 1000,
  };
}
