// Browser login's pure parts: the entry's validation, the discovery document's checks, the
// secrets directory's bounds, each login's decision (in force, or closed with the reason), and
// that a secret's value never leaves in JSON, text or a debug view.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfigEntries } from '../../xds-server/model/config-entries/schema.js';
import { SecretValue } from '../../xds-server/model/mesh.js';
import { MeshResolver } from '../../xds-server/resolve/mesh-resolver.js';
import { encodeResource } from '../../xds-server/cache/encoded-resource.js';
import { secretResource } from '../../xds-server/translate/login.js';
import { parseDiscovery } from '../../xds-server/sources/oidc-discovery.js';
import { MAX_SECRET_BYTES, readSecretsDir } from '../../xds-server/sources/secrets-dir.js';
import { describeRefusal } from '../../shared/validate/result.js';
import { loadCase } from '../helpers/golden-cases.js';

const ENTRY = 'Kind: browser-login\nName: operators\nIssuer: https://id.example.com\nClientId: c\nClientSecret: client\nHmacSecret: hmac\n';

describe('browser login', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('refuses an entry with a bad issuer, a secret given by value, or an unknown field, naming the field', () => {
    assert.ok(parseConfigEntries(ENTRY).ok);
    const bad = (text: string, reason: RegExp) => {
      const r = parseConfigEntries(text);
      assert.equal(r.ok, false);
      assert.match(r.ok ? '' : describeRefusal(r), reason);
    };
    bad(ENTRY.replace('https://id.example.com', 'ftp://id.example.com'), /Issuer/);
    bad(ENTRY.replace('https://id.example.com', 'https://id.example.com/?x=1'), /Issuer: must be an http\(s\) URL without query/);
    bad(ENTRY.replace('ClientSecret: client', 'ClientSecret: "s3cr3t value with spaces"'), /ClientSecret: must be a secret name/);
    bad(`${ENTRY}SameSite: None\n`, /SameSite/);
    bad(`${ENTRY}ClientSecretValue: x\n`, /ClientSecretValue/);
  });

  it('takes a discovery document only for the issuer asked, with http(s) endpoints', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const doc = { issuer: 'https://id.example.com', authorization_endpoint: 'https://id.example.com/auth', token_endpoint: 'https://id.example.com/token', jwks_uri: 'https://id.example.com/jwks' };
    const ok = parseDiscovery('https://id.example.com', JSON.stringify(doc), now);
    assert.deepEqual(ok, { ok: true, provider: { issuer: 'https://id.example.com', authorizationEndpoint: doc.authorization_endpoint, tokenEndpoint: doc.token_endpoint, jwksUri: doc.jwks_uri, fetchedAt: now.toISOString() } });
    const refused = (text: string) => {
      const r = parseDiscovery('https://id.example.com', text, now);
      assert.equal(r.ok, false);
      return r.ok ? '' : r.reason;
    };
    assert.match(refused(JSON.stringify({ ...doc, issuer: 'https://evil.example.com' })), /names issuer "https:\/\/evil\.example\.com", not https:\/\/id\.example\.com/);
    assert.match(refused(JSON.stringify({ ...doc, token_endpoint: 'javascript:alert(1)' })), /token_endpoint/);
    assert.match(refused('<html>'), /not JSON/);
  });

  it('reads the secrets directory within its bounds, and keeps a secret it cannot read now', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-secrets-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'client'), 'value\n');
    fs.writeFileSync(path.join(dir, 'big'), Buffer.alloc(MAX_SECRET_BYTES + 1, 'x'));
    fs.writeFileSync(path.join(dir, 'bad name'), 'x');
    fs.writeFileSync(path.join(dir, '.hidden'), 'x');
    const first = await readSecretsDir(dir);
    assert.deepEqual([...first.secrets.keys()], ['client']);
    assert.equal(first.secrets.get('client')!.reveal(), 'value');
    assert.ok(first.problems.some((p) => /"big" cannot be read: \d+ bytes, over 65536/.test(p)));
    assert.ok(first.problems.some((p) => /"bad name" is not a secret name/.test(p)));
    // Unreadable now: the last value stays.
    fs.chmodSync(path.join(dir, 'client'), 0o000);
    const kept = new Map([['client', new SecretValue('client', 'old')]]);
    const second = await readSecretsDir(dir, kept);
    if (process.getuid?.() !== 0) assert.equal(second.secrets.get('client')?.reveal(), 'old');
    const gone = await readSecretsDir(path.join(dir, 'nope'), kept);
    assert.equal(gone.secrets.get('client')?.reveal(), 'old');
    assert.match(gone.problems[0]!, /cannot be read: ENOENT/);
  });

  it('closes a login whose HMAC secret is short, whose provider is unread, or whose entry is gone, with the reason', () => {
    const c = loadCase('gateway-browser-login');
    const resolver = new MeshResolver(c.gateway);
    const reason = (state: typeof c.state): string | undefined => {
      const p = resolver.resolve(state).gateway!.paths.find((x) => x.prefix === '/console/')!.login!;
      return p.kind === 'unavailable' ? p.reason : undefined;
    };
    assert.equal(reason(c.state), undefined);
    const short = new Map(c.state.secrets).set('console-hmac', new SecretValue('console-hmac', 'too-short'));
    assert.match(reason({ ...c.state, revision: 2, secrets: short })!, /has 9 bytes: at least 32 are needed/);
    assert.match(reason({ ...c.state, revision: 3, loginProviders: new Map() })!, /the discovery document of https:\/\/id\.example\.com has not been read/);
    assert.match(reason({ ...c.state, revision: 4, entries: { ...c.state.entries, logins: new Map() } })!, /no browser-login entry "operators"/);
    // Back as it was: in force again.
    assert.equal(reason({ ...c.state, revision: 5 }), undefined);
    assert.deepEqual(resolver.resolve(c.state).loginIssuers, ['https://id.example.com']);
  });

  it('never shows a secret’s value: not in JSON, text, the resolved dump or the SDS resource’s debug view', () => {
    const secret = new SecretValue('hmac', 'the-value-0123456789-0123456789-xyz');
    assert.equal(JSON.stringify({ secret }), '{"secret":{"name":"hmac","bytes":35}}');
    assert.equal(`${secret}`, '[secret hmac]');
    const r = secretResource(secret);
    const encoded = encodeResource('secret', r.name, r.resource);
    assert.ok(!JSON.stringify(encoded.json).includes('the-value'));
    assert.ok(Buffer.from(encoded.any).toString('latin1').includes('the-value'), 'the bytes Envoy gets hold it');
    // The version is keyed: not the plain hash of the value.
    assert.notEqual(encoded.version, encodeResource('cluster', 'x', { name: 'x' }).version);
    const c = loadCase('gateway-browser-login');
    assert.ok(!JSON.stringify(new MeshResolver(c.gateway).resolve(c.state)).includes('not-a-real-client-secret'));
  });
});
