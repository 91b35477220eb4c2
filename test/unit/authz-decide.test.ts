// Rules, the decision engine and the policy store: pure, no processes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorize } from '../../ext-authz/authorize.js';
import { JwksRegistry } from '../../ext-authz/credentials/jwks-cache.js';
import { sha256 } from '../../ext-authz/credentials/secrets.js';
import type { Identity } from '../../ext-authz/identity.js';
import { createPolicyStore, type PolicyStore } from '../../ext-authz/policy/policy-store.js';
import { evaluateRules } from '../../ext-authz/policy/rules.js';
import { attributesOf } from '../../ext-authz/request.js';

const who = (over: Partial<Identity> = {}): Identity => ({ subject: 'alice', tenant: 'acme', plan: 'pro', scopes: ['chat'], credential: 'api_key', ...over });

describe('rules', () => {
  it('deny wins over allow', () => {
    const rules = { deny: [{ tenants: ['acme'] }], allow: [{ subjects: ['alice'] }] };
    assert.deepEqual(evaluateRules(rules, who(), 'GET', '/'), { allowed: false, reason: 'denied by rule deny[0]' });
  });

  it('allows when some allow rule matches in every condition it states', () => {
    const rules = { deny: [], allow: [{ scopes: ['admin'] }, { scopes: ['chat'], methods: ['POST'], path_prefixes: ['/v1/chat/'] }] };
    assert.deepEqual(evaluateRules(rules, who(), 'POST', '/v1/chat/completions'), { allowed: true });
    assert.deepEqual(evaluateRules(rules, who(), 'GET', '/v1/chat/completions'), { allowed: false, reason: 'no allow rule matches this caller and request' });
    assert.deepEqual(evaluateRules(rules, who(), 'POST', '/v1/embeddings'), { allowed: false, reason: 'no allow rule matches this caller and request' });
  });

  it('needs every listed scope, and any listed subject, tenant, plan or credential', () => {
    assert.equal(evaluateRules({ deny: [], allow: [{ scopes: ['chat', 'embed'] }] }, who(), 'GET', '/').allowed, false);
    assert.equal(evaluateRules({ deny: [], allow: [{ subjects: ['bob', 'alice'] }] }, who(), 'GET', '/').allowed, true);
    assert.equal(evaluateRules({ deny: [], allow: [{ plans: ['free'] }] }, who(), 'GET', '/').allowed, false);
    assert.equal(evaluateRules({ deny: [], allow: [{ credentials: ['jwt'] }] }, who(), 'GET', '/').allowed, false);
    assert.equal(evaluateRules({ deny: [], allow: [{ tenants: ['acme'] }] }, who({ tenant: undefined }), 'GET', '/').allowed, false);
  });

  it('allows any authenticated caller when there is no allow rule', () => {
    assert.deepEqual(evaluateRules({ deny: [{ subjects: ['mallory'] }], allow: [] }, who(), 'DELETE', '/x'), { allowed: true });
  });
});

const KEY_A = sha256('key-a').toString('hex');
const KEY_B = sha256('key-b').toString('hex');

const DOC = `
policies:
  llm-clients:
    credentials:
      - type: api_key
        keys:
          - {id: a, sha256: ${KEY_A}, subject: team-a, tenant: a, scopes: [chat]}
          - {id: b, sha256: ${KEY_B}, subject: team-b, tenant: b, scopes: [embed]}
      - {type: jwt, issuer: "https://idp/", audiences: [x], algorithms: [RS256], jwks: {keys: [{kty: RSA, n: "AQAB", e: "AQAB", kid: x}]}}
    rules:
      allow: [{scopes: [chat]}]
  public-ish:
    credentials:
      - type: api_key
        keys: [{id: a, sha256: ${KEY_A}, subject: team-a, scopes: []}]
      - type: anonymous
  shadow:
    dry_run: true
    credentials:
      - type: api_key
        keys: [{id: a, sha256: ${KEY_A}, subject: team-a, scopes: []}]
`;

function store(): PolicyStore {
  const s = createPolicyStore({ jwks: new JwksRegistry() }, () => new Date('2026-01-01T00:00:00Z'));
  assert.equal(s.setDocument('file:test', DOC), undefined);
  return s;
}

const req = (policy: string | undefined, headers: Record<string, string> = {}, method = 'POST', target = '/v1/chat') =>
  attributesOf(method, target, headers, policy === undefined ? {} : { policy }, 'r1');

describe('decisions', () => {
  it('allows a valid key whose scopes satisfy the rules', async () => {
    const d = await authorize(store().items, req('llm-clients', { 'x-api-key': 'key-a' }));
    assert.equal(d.allowed, true);
    assert.equal(d.identity?.subject, 'team-a');
  });

  it('answers 401 with every challenge when no credential is presented', async () => {
    const d = await authorize(store().items, req('llm-clients'));
    assert.equal(d.allowed, false);
    assert.equal(!d.allowed && d.status, 401);
    assert.deepEqual(!d.allowed && d.challenges, ['ApiKey realm="meshgate", header="x-api-key"', 'Bearer realm="meshgate"']);
  });

  it('lets a present but wrong credential decide (no falling through to anonymous)', async () => {
    const d = await authorize(store().items, req('public-ish', { 'x-api-key': 'nope' }));
    assert.equal(!d.allowed && d.status, 401);
    const anon = await authorize(store().items, req('public-ish'));
    assert.equal(anon.allowed && anon.identity?.credential, 'anonymous');
  });

  it('answers 403 when the caller is known but the rules forbid', async () => {
    const d = await authorize(store().items, req('llm-clients', { 'x-api-key': 'key-b' }));
    assert.equal(!d.allowed && d.status, 403);
    assert.equal(!d.allowed && d.reason, 'no allow rule matches this caller and request');
    assert.equal(d.identity?.subject, 'team-b');
  });

  it('denies a route without a policy or with an undefined one (fail closed)', async () => {
    assert.equal(((await authorize(store().items, req(undefined))) as { reason: string }).reason, 'the route names no policy');
    const d = await authorize(store().items, req('ghost', { 'x-api-key': 'key-a' }));
    assert.equal(!d.allowed && d.status, 403);
    assert.equal(!d.allowed && d.reason, 'policy "ghost" is not defined');
  });

  it('in dry run lets the request through and says what it would have denied', async () => {
    const d = await authorize(store().items, req('shadow', { 'x-api-key': 'wrong' }));
    assert.equal(d.allowed, true);
    assert.deepEqual(d.allowed && d.wouldDeny, { status: 401, reason: 'the API key is not valid' });
  });

  it('denies garbage and odd requests', async () => {
    const s = store();
    for (const r of [
      req('llm-clients', { authorization: 'Bearer ' }),
      req('llm-clients', { authorization: 'Bearer a.b.c' }),
      req('llm-clients', { authorization: 'Basic !!!' }),
      req('llm-clients', { 'x-api-key': '\u0000' }),
      req('', {}),
    ]) {
      assert.equal((await authorize(s.items, r)).allowed, false);
    }
  });
});

describe('policy store', () => {
  it('refuses an invalid document with its reason and keeps the last good one in force', () => {
    const s = store();
    const before = s.items.get('llm-clients');
    const reason = s.setDocument('file:test', 'policies: {llm-clients: {credentials: []}}');
    assert.match(reason!, /policies\.llm-clients\.credentials: must list at least one credential/);
    assert.equal(s.items.get('llm-clients'), before);
    const [doc] = s.status();
    assert.equal(doc!.state, 'active');
    assert.match(doc!.last_refusal!.reason, /must list at least one credential/);
  });

  it('refuses a document that redefines another document’s policy', () => {
    const s = store();
    const reason = s.setDocument('consul:other', `policies: {llm-clients: {credentials: [{type: anonymous}]}}`);
    assert.equal(reason, 'policies.llm-clients: already defined by file:test');
    assert.equal(s.items.get('llm-clients')!.source.document, 'file:test');
  });

  it('drops the policies of a removed document', () => {
    const s = store();
    s.removeDocument('file:test');
    assert.equal(s.items.size, 0);
  });

  it('refuses what validation cannot see, such as a bad static key', () => {
    const s = createPolicyStore({ jwks: new JwksRegistry() });
    const reason = s.setDocument('d', `policies: {p: {credentials: [{type: basic, users: [{username: u, password_hash: "scrypt$1$1$1$a$b"}]}]}}`);
    assert.match(reason!, /policies\.p\.credentials\[0\]\.users\[0\]\.password_hash: N must be a power of two/);
  });
});
