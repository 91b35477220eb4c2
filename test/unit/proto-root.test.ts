// A request-path component loads only the proto of the service it answers; anything else asked
// for later still resolves, by loading the whole set.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envoyRoot, loadEnvoyProtos, messageType, RATELIMIT_SERVICE_PROTO } from '../../shared/proto/root.js';

describe('Envoy proto root', () => {
  it('loads one service without the rest, and the rest on demand', () => {
    const root = loadEnvoyProtos([RATELIMIT_SERVICE_PROTO]);
    assert.ok(root.lookup('envoy.service.ratelimit.v3.RateLimitRequest'), 'the service loaded');
    assert.equal(root.lookup('envoy.config.cluster.v3.Cluster'), null, 'xDS types not loaded with it');

    const request = messageType('envoy.service.ratelimit.v3.RateLimitRequest');
    const bytes = request.encode({ domain: 'edge', descriptors: [{ entries: [{ key: 'k', value: 'v' }] }], hits_addend: 2 }).finish();
    assert.deepEqual(request.toObject(request.decode(bytes)), { domain: 'edge', descriptors: [{ entries: [{ key: 'k', value: 'v' }] }], hits_addend: 2 });

    assert.equal(messageType('envoy.config.cluster.v3.Cluster').fullName, '.envoy.config.cluster.v3.Cluster');
    assert.equal(envoyRoot(), root, 'one root per process');
    assert.throws(() => messageType('envoy.no.such.Type'), /no such type/);
  });
});
