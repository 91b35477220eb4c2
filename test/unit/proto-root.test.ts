// The Envoy protos are those of the Envoy the project runs; a request-path component loads only
// the proto of the service it answers, and anything else asked for later still resolves.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../launcher/repo.js';
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

  it('is the API of the Envoy that set-up installs', () => {
    const setup = fs.readFileSync(path.join(repoRoot(), 'scripts', 'setup.sh'), 'utf8');
    const envoy = /^ENVOY_VERSION=(\S+)$/m.exec(setup)?.[1];
    const stamp = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'shared', 'proto', 'envoy-api.version.json'), 'utf8')) as { envoy: string; source: string };
    const goMod = fs.readFileSync(path.join(repoRoot(), 'scripts', 'envoy-protos', 'go.mod'), 'utf8');
    const module = /github\.com\/envoyproxy\/go-control-plane\/envoy v(\S+)/.exec(goMod)?.[1];
    assert.ok(envoy, 'setup.sh pins ENVOY_VERSION');
    assert.equal(stamp.envoy, envoy, 'shared/proto/envoy-api.pb is from another Envoy: run scripts/envoy-protos/generate.sh');
    assert.equal(module, envoy, 'scripts/envoy-protos/go.mod pins another go-control-plane/envoy');
    assert.equal(stamp.source, `github.com/envoyproxy/go-control-plane/envoy@v${envoy}`);
  });

  it('has the fields of Envoy 1.40 that older copies lack', () => {
    const descriptor = messageType('envoy.extensions.common.ratelimit.v3.RateLimitDescriptor');
    assert.ok(descriptor.fields['hits_addend'], 'per-descriptor hits_addend');
    const routeLimit = messageType('envoy.config.route.v3.RateLimit');
    assert.ok(routeLimit.fields['apply_on_stream_done'], 'route rate limits applied when the stream is done');
    assert.ok(routeLimit.fields['hits_addend'], 'route rate limits with hits_addend');
    const struct = messageType('google.protobuf.Struct');
    assert.ok(struct.fields['fields']!.map, 'map fields read as maps');
    assert.ok(messageType('envoy.service.ext_proc.v3.ProcessingRequest'), 'the ext_proc service');
    assert.ok(messageType('envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder'), 'the transcoder filter');
  });
});
