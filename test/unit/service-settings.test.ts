import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration } from '../../shared/validate/duration.js';
import { describeRefusal } from '../../shared/validate/result.js';
import { parseGatewayPaths, serviceSettings } from '../../xds-server/model/service-settings.js';

describe('service settings from Consul meta', () => {
  it('without meta: the gateway path /<service>/, and nothing else said (resolve/ decides the rest)', () => {
    assert.deepEqual(serviceSettings('llm', {}), { ok: true, value: { gatewayPaths: [{ prefix: '/llm/', separated: false }] } });
  });

  it('reads protocol, gateway paths and timeouts', () => {
    const r = serviceSettings('llm', { protocol: 'GRPC', 'gateway-path': '/v1/, /test', timeout: '2m', 'connect-timeout': '250ms' });
    assert.deepEqual(r, {
      ok: true,
      value: {
        protocol: 'grpc',
        gatewayPaths: [
          { prefix: '/v1/', separated: false },
          { prefix: '/test', separated: true },
        ],
        requestTimeoutMs: 120_000,
        connectTimeoutMs: 250,
      },
    });
  });

  it('refuses bad values with a reason that names the meta key', () => {
    assert.deepEqual(serviceSettings('s', { protocol: 'tcp' }), { ok: false, field: 'meta "protocol"', reason: '"tcp" is not one of http, http2, grpc' });
    assert.deepEqual(serviceSettings('s', { 'gateway-path': 'v1' }), { ok: false, field: 'meta "gateway-path"', reason: 'path "v1" must start with "/"' });
    assert.deepEqual(serviceSettings('s', { 'gateway-path': '/a?b' }), { ok: false, field: 'meta "gateway-path"', reason: 'path "/a?b" must not contain "?", "#" or spaces' });
    assert.deepEqual(serviceSettings('s', { timeout: 'soon' }), { ok: false, field: 'meta "timeout"', reason: '"soon" is not a duration like "250ms", "30s", "2m" or "1h"' });
    assert.deepEqual(serviceSettings('s', { 'connect-timeout': '0s' }), { ok: false, field: 'meta "connect-timeout"', reason: 'must be more than 0' });
  });

  it('parses durations and path lists', () => {
    assert.equal(parseDuration('1.5s'), 1_500);
    assert.equal(parseDuration('90ms'), 90);
    assert.equal(parseDuration('3'), undefined);
    assert.deepEqual(parseGatewayPaths('/'), { ok: true, value: [{ prefix: '/', separated: false }] });
    assert.deepEqual(parseGatewayPaths(' , '), { ok: false, field: '', reason: 'no path given (use "none" for no route)' });
    assert.deepEqual(parseGatewayPaths('none'), { ok: true, value: [] });
    assert.equal(parseDuration('1h'), 3_600_000);
  });
});

describe('auth-policy meta', () => {
  it('sets a policy for the whole service and overrides it per gateway path', () => {
    const r = serviceSettings('llm', { 'gateway-path': '/v1/,/test', 'auth-policy': 'llm-clients, /test=none' });
    assert.ok(r.ok);
    assert.deepEqual(r.value.gatewayPaths, [
      { prefix: '/v1/', separated: false, authPolicy: 'llm-clients' },
      { prefix: '/test', separated: true, authPolicy: 'none' },
    ]);
  });

  it('leaves paths without a policy to the gateway default', () => {
    const r = serviceSettings('llm', { 'gateway-path': '/a,/b', 'auth-policy': '/a=gold' });
    assert.ok(r.ok);
    assert.deepEqual(r.value.gatewayPaths.map((p) => p.authPolicy), ['gold', undefined]);
  });

  it('refuses an unknown path, a bad name, or two service-wide policies', () => {
    assert.deepEqual(serviceSettings('s', { 'gateway-path': '/a', 'auth-policy': '/b=x' }), { ok: false, field: 'meta "auth-policy"', reason: '/b is not one of the service\'s gateway paths' });
    assert.deepEqual(serviceSettings('s', { 'auth-policy': 'Bad Name' }), { ok: false, field: 'meta "auth-policy"', reason: '"Bad Name" is not a policy name' });
    assert.deepEqual(serviceSettings('s', { 'auth-policy': 'a,b' }), { ok: false, field: 'meta "auth-policy"', reason: 'more than one policy for the whole service' });
  });
});

describe('rate-limits meta', () => {
  const limits = (meta: Record<string, string>) => {
    const r = serviceSettings('llm', { 'gateway-path': '/v1/,/test', ...meta });
    return r.ok ? r.value.gatewayPaths.map((p) => [p.prefix, p.rateLimits]) : describeRefusal(r);
  };

  it('gives each path its descriptors; entries without a path go to every path', () => {
    assert.deepEqual(limits({ 'rate-limits': '/v1/=generic:llm,auth:key_id; /test=remote_address; destination_cluster' }), [
      ['/v1/', [{ entries: [{ kind: 'destination_cluster' }] }, { entries: [{ kind: 'generic', value: 'llm', key: 'generic_key' }, { kind: 'auth', field: 'key_id' }] }]],
      ['/test', [{ entries: [{ kind: 'destination_cluster' }] }, { entries: [{ kind: 'remote_address' }] }]],
    ]);
  });

  it('reads header and generic entries with their descriptor keys', () => {
    assert.deepEqual(limits({ 'rate-limits': '/v1/=header:X-Model=model,generic:chat=route' }), [
      ['/v1/', [{ entries: [{ kind: 'header', header: 'x-model', key: 'model' }, { kind: 'generic', value: 'chat', key: 'route' }] }]],
      ['/test', undefined],
    ]);
  });

  it('refuses an identity header as a descriptor source, and says what to use', () => {
    assert.equal(limits({ 'rate-limits': 'header:x-auth-tenant' }), 'meta "rate-limits": header x-auth-tenant carries identity, which only ext-authz may establish: use auth:<field>');
  });

  it('refuses unknown entries, fields and paths', () => {
    assert.match(limits({ 'rate-limits': 'client_ip' }) as string, /unknown entry "client_ip"/);
    assert.match(limits({ 'rate-limits': 'auth:email' }) as string, /auth:email: the field is one of subject, tenant/);
    assert.match(limits({ 'rate-limits': '/v2/=remote_address' }) as string, /\/v2\/ is not one of the service's gateway paths/);
  });
});
