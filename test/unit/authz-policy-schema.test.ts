import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicyDocument } from '../../ext-authz/policy/schema.js';

const KEY = 'a'.repeat(64);

function reason(text: string): string {
  const r = parsePolicyDocument(text);
  assert.equal(r.ok, false, 'the document should be refused');
  return (r as { reason: string }).reason;
}

describe('policy documents', () => {
  it('accepts a document with every credential kind and fills defaults', () => {
    const r = parsePolicyDocument(`
policies:
  llm-clients:
    credentials:
      - {type: api_key, keys: [{id: k1, sha256: ${KEY}, subject: bot}]}
      - {type: jwt, issuer: https://idp/, audiences: [a], algorithms: [RS256], jwks_uri: https://idp/jwks}
      - {type: basic, users: [{username: ops, password_hash: "scrypt$x"}]}
      - {type: anonymous}
    rules:
      allow: [{scopes: [chat], methods: [POST], path_prefixes: [/v1/]}]
`);
    assert.ok(r.ok, !r.ok ? r.reason : '');
    const jwt = r.value.policies['llm-clients']!.credentials[1]!;
    assert.equal(jwt.type === 'jwt' && jwt.leeway, '30s');
    assert.equal(r.value.policies['llm-clients']!.dry_run, false);
  });

  it('names the field of every problem', () => {
    const why = reason(`
policies:
  p:
    credentials:
      - {type: api_key, keys: [{id: k1, sha256: nothex, subject: bot}]}
      - {type: jwt, issuer: x, audiences: [], algorithms: [RS256], jwks_uri: https://idp/jwks}
    rules: {allow: [{methods: [post]}]}
`);
    assert.match(why, /policies\.p\.credentials\[0\]\.keys\[0\]\.sha256: must be the 64 hex characters/);
    assert.match(why, /policies\.p\.credentials\[1\]\.audiences: must list at least one audience/);
    assert.match(why, /policies\.p\.rules\.allow\[0\]\.methods\[0\]: must be an upper-case HTTP method/);
  });

  it('refuses "none" as an algorithm', () => {
    assert.match(reason(`policies: {p: {credentials: [{type: jwt, issuer: x, audiences: [a], algorithms: [none], jwks_uri: "https://i/j"}]}}`), /credentials\[0\]\.algorithms\[0\]/);
  });

  it('never mixes an HMAC secret with public keys', () => {
    assert.match(
      reason(`policies: {p: {credentials: [{type: jwt, issuer: x, audiences: [a], algorithms: [HS256, RS256], hmac_secret_base64: "${Buffer.alloc(32).toString('base64')}"}]}}`),
      /HMAC \(HS\*\) and public-key algorithms cannot be mixed/,
    );
    assert.match(reason(`policies: {p: {credentials: [{type: jwt, issuer: x, audiences: [a], algorithms: [HS256], jwks_uri: "https://i/j"}]}}`), /HS\* algorithms need hmac_secret_base64/);
    assert.match(
      reason(`policies: {p: {credentials: [{type: jwt, issuer: x, audiences: [a], algorithms: [RS256], hmac_secret_base64: "${Buffer.alloc(32).toString('base64')}"}]}}`),
      /hmac_secret_base64 is only for HS\* algorithms/,
    );
  });

  it('refuses unknown fields, "none" as a policy name, anonymous before other credentials', () => {
    assert.match(reason(`policies: {p: {credentials: [{type: anonymous}], rulez: {}}}`), /policies\.p: Unrecognized key/);
    assert.match(reason(`policies: {none: {credentials: [{type: anonymous}]}}`), /"none" is reserved/);
    assert.match(reason(`policies: {p: {credentials: [{type: anonymous}, {type: api_key, keys: [{id: k, sha256: ${KEY}, subject: s}]}]}}`), /credentials\[0\]: anonymous must come last/);
  });

  it('refuses a rule that names a credential the policy does not accept', () => {
    assert.match(
      reason(`policies: {p: {credentials: [{type: api_key, keys: [{id: k, sha256: ${KEY}, subject: s}]}], rules: {allow: [{credentials: [jwt]}]}}}`),
      /policies\.p\.rules\.allow\[0\]\.credentials\[0\]: names credential jwt, which this policy does not accept \(it accepts api_key\)/,
    );
  });

  it('refuses text that is not YAML or JSON', () => {
    assert.match(reason('policies: [unclosed'), /^not valid YAML or JSON/);
  });
});
