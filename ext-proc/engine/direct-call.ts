// A direct call (one Envoy routed by the body's model without the processor: the xds-server's
// translate/direct-calls.ts) as the processor reports it, read from the gateway's access-log
// entry: its operation by path, its model, the service that answered, the tenant ext-authz
// established, the usage Envoy read from the answer, the status and the duration. The same
// CallRecord a processed call makes, so the metrics cannot tell them apart.
import { durationMs, metadataOf, type RawEntry } from '../../shared/access-log/entry.js';
import { EXT_AUTHZ_METADATA_NAMESPACE } from '../../shared/identity-headers.js';
import { DIRECT_KEYS, DIRECT_METADATA_NAMESPACE, DIRECT_PATHS, LLM_METADATA_NAMESPACE, LLM_OPERATIONS, SERVICE_HEADER } from '../../shared/llm-gateway.js';
import { usageOf } from '../openai/usage.js';
import type { CallRecord } from './call-record.js';

/** The direct routes' names start so (xds-server: `direct:<model><path>`). */
export const DIRECT_ROUTE_PREFIX = 'direct:';

/** Undefined for an entry that is not a direct call's (another route took it, or its path is none a direct call takes). */
export function directCallRecord(e: RawEntry): CallRecord | undefined {
  if (!e.common_properties?.route_name?.startsWith(DIRECT_ROUTE_PREFIX)) return undefined;
  const model = metadataOf(e, DIRECT_METADATA_NAMESPACE)[DIRECT_KEYS.model]?.string_value;
  const path = (e.request?.original_path || e.request?.path || '').split('?')[0]!;
  if (!model || !(DIRECT_PATHS as readonly string[]).includes(path)) return undefined;
  const operation = LLM_OPERATIONS[path as keyof typeof LLM_OPERATIONS];
  const llm = metadataOf(e, LLM_METADATA_NAMESPACE);
  const tokens = (key: string): number | undefined => llm[key]?.number_value;
  const usage =
    tokens('prompt_tokens') !== undefined || tokens('completion_tokens') !== undefined
      ? usageOf({ usage: { prompt_tokens: tokens('prompt_tokens'), completion_tokens: tokens('completion_tokens'), total_tokens: tokens('total_tokens') } })
      : undefined;
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
