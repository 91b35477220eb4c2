// The exact-match response cache's two decisions, made before a service is asked: may this
// answer be reused (embeddings always; a chat or completion only when it is deterministic —
// `temperature: 0` — or the caller allows it with a header; never a stream), and under which
// key. The key is the tenant and the request as a canonical JSON (keys sorted, whitespace gone),
// hashed: the same question in another spelling hits, another tenant's never does.
import { createHash } from 'node:crypto';
import type { LlmOperation } from '../../shared/llm-gateway.js';

export { CACHE_HEADER } from '../../shared/llm-gateway.js';

/** `callerAllows`: the request's CACHE_HEADER says `allow`. */
export function cacheable(operation: LlmOperation, request: Readonly<Record<string, unknown>>, callerAllows: boolean): boolean {
  if (request['stream'] === true) return false;
  if (operation === 'embeddings') return true;
  if (callerAllows) return true;
  return request['temperature'] === 0 && (request['n'] === undefined || request['n'] === 1);
}

/** JSON with every object's keys sorted, arrays in order: one spelling per value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function cacheKey(tenant: string, operation: LlmOperation, request: Readonly<Record<string, unknown>>, dialect = 'openai'): string {
  // `user` names the end user for the provider's abuse tracking; it does not change the answer.
  const { user: _user, ...rest } = request;
  // The caller's dialect is the answer's shape: an OpenAI caller's key is what it always was.
  const head = dialect === 'openai' ? [tenant, operation] : [tenant, operation, dialect];
  return createHash('sha256').update(JSON.stringify(head)).update('\n').update(canonicalJson(rest)).digest('hex');
}
