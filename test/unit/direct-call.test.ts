// A direct call's access-log entry read as the processor reports it, and entries that are not one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RawEntry } from '../../shared/access-log/entry.js';
import { directCallRecord } from '../../ext-proc/engine/direct-call.js';

const entry = (over: { route?: string; path?: string; model?: unknown; usage?: Record<string, number>; tenant?: string; service?: string } = {}): RawEntry => ({
  common_properties: {
    route_name: over.route ?? 'direct:gpt-x/v1/chat/completions',
    duration: { seconds: 1, nanos: 250_000_000 },
    metadata: {
      filter_metadata: {
        'meshgate.llm.direct': { fields: over.model === undefined ? { model: { string_value: 'gpt-x' } } : (over.model as never) },
        'meshgate.llm': { fields: Object.fromEntries(Object.entries(over.usage ?? { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 }).map(([k, v]) => [k, { number_value: v }])) },
        ...(over.tenant ? { 'envoy.filters.http.ext_authz': { fields: { tenant: { string_value: over.tenant } } } } : {}),
      },
    },
  },
  request: { path: over.path ?? '/v1/chat/completions?x=1', request_id: 'r-1' },
  response: { response_code: { value: 200 }, response_headers: { 'x-meshgate-service': over.service ?? 'llm-a' } },
});

describe('direct calls: the processor’s record of a call Envoy routed without it', () => {
  it('reads the operation by path, the model, the service, the tenant, the usage, the status and the duration', () => {
    assert.deepEqual(directCallRecord(entry({ tenant: 'acme' })), {
      operation: 'chat',
      clientDialect: 'openai',
      serviceDialect: 'openai',
      model: 'gpt-x',
      requestedModel: 'gpt-x',
      service: 'llm-a',
      tenant: 'acme',
      usage: { promptTokens: 12, completionTokens: 30, totalTokens: 42 },
      requestId: 'r-1',
      status: 200,
      durationSeconds: 1.25,
    });
    assert.equal(directCallRecord(entry({ path: '/v1/embeddings', route: 'direct:gpt-x/v1/embeddings' }))?.operation, 'embeddings');
  });

  it('has no usage when the answer told none (an error, say), and no tenant when ext-authz established none', () => {
    const r = directCallRecord(entry({ usage: {} }));
    assert.equal(r?.usage, undefined);
    assert.equal(r?.tenant, '');
  });

  it('is no record for an entry of another route, a path that is no model API, or no model', () => {
    assert.equal(directCallRecord(entry({ route: 'model:gpt-x' })), undefined);
    assert.equal(directCallRecord(entry({ path: '/v1/messages' })), undefined);
    assert.equal(directCallRecord(entry({ model: {} })), undefined);
  });
});
