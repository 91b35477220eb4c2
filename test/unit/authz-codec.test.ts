import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Decision } from '../../ext-authz/authorize.js';
import type { CompiledPolicy } from '../../ext-authz/policy/compile.js';
import { CheckResponses, decodeCheckRequest, MALFORMED } from '../../ext-authz/server/check-codec.js';
import { DEFAULT_IDENTITY_HEADERS } from '../../ext-authz/identity.js';
import { decodeMessage, encodeMessage } from '../../shared/proto/codec.js';
import { checkRequest, type CheckOutput } from '../helpers/authz-client.js';

const policy = {
  name: 'llm-clients',
  dryRun: false,
  requestLog: false,
  modelPriority: 'standard',
  modelWeight: 1,
  credentials: [],
  rules: { deny: [], allow: [] },
  challenges: [],
  carrierHeaders: ['x-api-key'],
  carrierQuery: ['api_key'],
  bearerApiKey: false,
  source: { document: 'd', version: 'v1' },
} as CompiledPolicy;

const identity = Object.freeze({ subject: 'bot', tenant: 'acme', scopes: ['chat', 'embed'], credential: 'api_key' as const, keyId: 'k1' });

const decode = (b: Buffer) => decodeMessage('envoy.service.auth.v3.CheckResponse', b) as CheckOutput;

describe('CheckRequest and CheckResponse on the wire', () => {
  it('reads method, path, query, headers and the route policy', () => {
    const bytes = Buffer.from(encodeMessage('envoy.service.auth.v3.CheckRequest', checkRequest({ method: 'POST', path: '/v1/chat?api_key=x', headers: { 'x-request-id': 'rid' }, policy: 'p' })));
    const a = decodeCheckRequest(bytes);
    assert.deepEqual([a.method, a.path, a.query, a.policy, a.requestId], ['POST', '/v1/chat', 'api_key=x', 'p', 'rid']);
    assert.equal(decodeCheckRequest(Buffer.from([0xff, 0xff, 0xff])), MALFORMED);
  });

  it('allows with identity headers that overwrite, removes the rest and the credential, and sets metadata', () => {
    const r = new CheckResponses(DEFAULT_IDENTITY_HEADERS);
    const out = decode(r.encode({ allowed: true, policy, identity, reason: 'allowed' }));
    assert.equal(out.status?.code ?? 0, 0);
    assert.deepEqual(
      out.ok_response!.headers!.map((h) => [h.header.key, h.header.value, (h as unknown as { append_action: string }).append_action]),
      [
        ['x-auth-subject', 'bot', 'OVERWRITE_IF_EXISTS_OR_ADD'],
        ['x-auth-tenant', 'acme', 'OVERWRITE_IF_EXISTS_OR_ADD'],
        ['x-auth-scopes', 'chat embed', 'OVERWRITE_IF_EXISTS_OR_ADD'],
        ['x-auth-key-id', 'k1', 'OVERWRITE_IF_EXISTS_OR_ADD'],
        ['x-auth-credential', 'api_key', 'OVERWRITE_IF_EXISTS_OR_ADD'],
      ],
    );
    assert.deepEqual(out.ok_response!.headers_to_remove, ['x-auth-plan', 'x-api-key']);
    assert.deepEqual(out.ok_response!.query_parameters_to_remove, ['api_key']);
    assert.deepEqual(out.dynamic_metadata, { subject: 'bot', credential: 'api_key', tenant: 'acme', scopes: 'chat embed', key_id: 'k1', policy: 'llm-clients' });
  });

  it('removes Authorization when an API key that may come as a bearer token wins, and keeps it for a JWT', () => {
    const r = new CheckResponses(DEFAULT_IDENTITY_HEADERS);
    const bearerPolicy = { ...policy, bearerApiKey: true } as CompiledPolicy;
    const byKey = decode(r.encode({ allowed: true, policy: bearerPolicy, identity, reason: 'allowed' }));
    assert.deepEqual(byKey.ok_response!.headers_to_remove, ['x-auth-plan', 'x-api-key', 'authorization']);
    const jwtIdentity = Object.freeze({ ...identity, credential: 'jwt' as const });
    const byJwt = decode(r.encode({ allowed: true, policy: bearerPolicy, identity: jwtIdentity, reason: 'allowed' }));
    assert.ok(!byJwt.ok_response!.headers_to_remove!.includes('authorization'), 'the JWT goes on to the service');
  });

  it('encodes an identity’s answer once and reuses the bytes', () => {
    const r = new CheckResponses(DEFAULT_IDENTITY_HEADERS);
    const d: Decision = { allowed: true, policy, identity, reason: 'allowed' };
    assert.equal(r.encode(d), r.encode(d));
  });

  it('denies 401 with the challenges and the reason as body; 403 without challenge', () => {
    const r = new CheckResponses(DEFAULT_IDENTITY_HEADERS);
    const out = decode(
      r.encode({ allowed: false, policy, policyName: 'llm-clients', status: 401, reason: 'credentials are required', challenges: ['Bearer realm="meshgate"', 'Basic realm="x"'], identity: undefined }),
    );
    assert.equal(out.status?.code, 16);
    assert.equal(out.denied_response!.status.code, 'Unauthorized');
    assert.equal(out.denied_response!.body, 'credentials are required');
    assert.deepEqual(
      out.denied_response!.headers!.filter((h) => h.header.key === 'www-authenticate').map((h) => h.header.value),
      ['Bearer realm="meshgate"', 'Basic realm="x"'],
    );
    const forbidden = decode(r.encode({ allowed: false, policy, policyName: 'p', status: 403, reason: 'no', challenges: [], identity }));
    assert.equal(forbidden.status?.code, 7);
    assert.equal(forbidden.denied_response!.status.code, 'Forbidden');
  });
});
