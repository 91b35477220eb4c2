// ratelimit-service's settings: envoyproxy/ratelimit's environment names where it has them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../ratelimit-service/config.js';

const BASE = ['--config=/etc/ratelimit', '--backend=redis'];

describe('ratelimit-service settings', () => {
  it('reads REDIS_AUTH as a password, or as username:password split at the first colon', () => {
    assert.deepEqual(pick(parseConfig(BASE, { REDIS_AUTH: 's3cret' })), { password: 's3cret' });
    assert.deepEqual(pick(parseConfig(BASE, { REDIS_AUTH: 'rl:pa:ss' })), { username: 'rl', password: 'pa:ss' });
    assert.deepEqual(pick(parseConfig(BASE, {})), {});
  });

  it('turns TLS on with --redis-tls, REDIS_TLS=true or a CA or client certificate, and wants cert and key together', () => {
    assert.equal(parseConfig(BASE, {}).redis.tls, undefined);
    assert.deepEqual(parseConfig([...BASE, '--redis-tls'], {}).redis.tls, {});
    assert.deepEqual(parseConfig(BASE, { REDIS_TLS: 'true' }).redis.tls, {});
    assert.deepEqual(parseConfig(BASE, { REDIS_TLS_CACERT: '/ca.pem' }).redis.tls, { caFile: '/ca.pem' });
    assert.deepEqual(parseConfig([...BASE, '--redis-tls-cert=/c.pem', '--redis-tls-key=/k.pem'], { REDIS_TLS_CACERT: '/ca.pem' }).redis.tls, {
      caFile: '/ca.pem',
      certFile: '/c.pem',
      keyFile: '/k.pem',
    });
    assert.throws(() => parseConfig([...BASE, '--redis-tls-cert=/c.pem'], {}), /--redis-tls-cert and --redis-tls-key go together/);
    assert.throws(() => parseConfig(BASE, { REDIS_TLS_CLIENT_KEY: '/k.pem' }), /go together/);
  });
});

function pick(config: ReturnType<typeof parseConfig>): { username?: string; password?: string } {
  const { username, password } = config.redis;
  return { ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) };
}
