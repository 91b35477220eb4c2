// The HTTP/2 limits as flags: every limit has one, values are checked, and the components
// take them (with ext-authz's KDF pool bounds).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig as authzConfig } from '../../ext-authz/config.js';
import { parseConfig as ratelimitConfig } from '../../ratelimit-service/config.js';
import { DEFAULT_H2_LIMITS, H2_LIMIT_FLAGS, h2LimitsFrom } from '../../shared/h2/limits.js';

describe('HTTP/2 limits as flags', () => {
  it('has a flag for every limit, named after it', () => {
    assert.deepEqual(Object.values(H2_LIMIT_FLAGS).sort(), Object.keys(DEFAULT_H2_LIMITS).sort());
    assert.equal(H2_LIMIT_FLAGS['h2-max-concurrent-streams'], 'maxConcurrentStreams');
    assert.equal(H2_LIMIT_FLAGS['h2-idle-timeout-ms'], 'idleTimeoutMs');
  });

  it('takes positive integers and names the flag of a bad one', () => {
    assert.equal(h2LimitsFrom({ 'h2-max-connections': '12' }).maxConnections, 12);
    assert.equal(h2LimitsFrom({}).maxConnections, DEFAULT_H2_LIMITS.maxConnections);
    assert.throws(() => h2LimitsFrom({ 'h2-max-connections': '0' }), /--h2-max-connections: expected a positive integer, got "0"/);
    assert.throws(() => h2LimitsFrom({ 'h2-reset-burst': '1.5' }), /--h2-reset-burst/);
  });

  it('reaches both components, beside ext-authz\'s KDF bounds', () => {
    const a = authzConfig(['--policy-file=p.yaml', '--h2-max-concurrent-streams=50', '--kdf-concurrency=2', '--kdf-queue-per-client=1'], {});
    assert.equal(a.h2Limits.maxConcurrentStreams, 50);
    assert.deepEqual(a.kdf, { concurrency: 2, maxQueued: 256, perKey: 1 });
    assert.throws(() => authzConfig(['--policy-file=p.yaml', '--kdf-queue=-3'], {}), /--kdf-queue: expected a positive integer/);
    const r = ratelimitConfig(['--config=r.yaml', '--h2-idle-timeout-ms=1000'], {});
    assert.equal(r.h2Limits.idleTimeoutMs, 1000);
  });
});
