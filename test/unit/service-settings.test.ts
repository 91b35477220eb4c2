import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDurationMs, parseGatewayPaths, serviceSettings } from '../../xds-server/model/service-settings.js';

describe('service settings from Consul meta', () => {
  it('defaults: http, /<service>/, 30 s request and 1 s connect timeouts', () => {
    assert.deepEqual(serviceSettings('llm', {}), {
      ok: true,
      settings: { protocol: 'http', gatewayPaths: [{ prefix: '/llm/', separated: false }], requestTimeoutMs: 30_000, connectTimeoutMs: 1_000 },
    });
  });

  it('reads protocol, gateway paths and timeouts', () => {
    const r = serviceSettings('llm', { protocol: 'GRPC', 'gateway-path': '/v1/, /test', timeout: '2m', 'connect-timeout': '250ms' });
    assert.deepEqual(r, {
      ok: true,
      settings: {
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
    assert.deepEqual(serviceSettings('s', { protocol: 'tcp' }), { ok: false, reason: 'meta "protocol": "tcp" is not one of http, http2, grpc' });
    assert.deepEqual(serviceSettings('s', { 'gateway-path': 'v1' }), { ok: false, reason: 'meta "gateway-path": path "v1" must start with "/"' });
    assert.deepEqual(serviceSettings('s', { 'gateway-path': '/a?b' }), { ok: false, reason: 'meta "gateway-path": path "/a?b" must not contain "?", "#" or spaces' });
    assert.deepEqual(serviceSettings('s', { timeout: 'soon' }), { ok: false, reason: 'meta "timeout": "soon" is not a duration like "500ms", "30s" or "2m"' });
    assert.deepEqual(serviceSettings('s', { 'connect-timeout': '0s' }), { ok: false, reason: 'meta "connect-timeout": must be more than 0' });
  });

  it('parses durations and path lists', () => {
    assert.equal(parseDurationMs('1.5s'), 1_500);
    assert.equal(parseDurationMs('90ms'), 90);
    assert.equal(parseDurationMs('3'), undefined);
    assert.deepEqual(parseGatewayPaths('/'), [{ prefix: '/', separated: false }]);
    assert.equal(parseGatewayPaths(' , '), 'no path given (use "none" for no route)');
    assert.deepEqual(parseGatewayPaths('none'), []);
  });
});

describe('auth-policy meta', () => {
  it('sets a policy for the whole service and overrides it per gateway path', () => {
    const r = serviceSettings('llm', { 'gateway-path': '/v1/,/test', 'auth-policy': 'llm-clients, /test=none' });
    assert.ok(r.ok);
    assert.deepEqual(r.settings.gatewayPaths, [
      { prefix: '/v1/', separated: false, authPolicy: 'llm-clients' },
      { prefix: '/test', separated: true, authPolicy: 'none' },
    ]);
  });

  it('leaves paths without a policy to the gateway default', () => {
    const r = serviceSettings('llm', { 'gateway-path': '/a,/b', 'auth-policy': '/a=gold' });
    assert.ok(r.ok);
    assert.deepEqual(r.settings.gatewayPaths.map((p) => p.authPolicy), ['gold', undefined]);
  });

  it('refuses an unknown path, a bad name, or two service-wide policies', () => {
    assert.deepEqual(serviceSettings('s', { 'gateway-path': '/a', 'auth-policy': '/b=x' }), { ok: false, reason: 'meta "auth-policy": /b is not one of the service\'s gateway paths' });
    assert.deepEqual(serviceSettings('s', { 'auth-policy': 'Bad Name' }), { ok: false, reason: 'meta "auth-policy": "Bad Name" is not a policy name' });
    assert.deepEqual(serviceSettings('s', { 'auth-policy': 'a,b' }), { ok: false, reason: 'meta "auth-policy": more than one policy for the whole service' });
  });
});
