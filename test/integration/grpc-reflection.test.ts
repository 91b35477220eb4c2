// Descriptors found by gRPC server reflection (issue 14's first step): the xds-server's client
// asks a real @grpc/grpc-js server with @grpc/reflection for its services, their files and every
// import, and assembles the descriptor set the gRPC-JSON transcoder needs, or refuses with the
// reason: an incomplete set, a server without reflection, an address nobody answers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startConsul, type ConsulAgent } from '../../launcher/consul-agent.js';
import { startModelService, type ModelServiceProcess } from '../../launcher/model-service.js';
import { fetchDescriptorSet } from '../../xds-server/transcoding/reflection-client.js';

describe('gRPC server reflection → descriptor set', () => {
  let consul: ConsulAgent;
  let withReflection: ModelServiceProcess;
  let without: ModelServiceProcess;

  before(async () => {
    consul = await startConsul({});
    withReflection = await startModelService({ program: 'grpc-inference', service: 'inference', id: 'inference-1', consulAddress: consul.address, meta: { protocol: 'grpc' } });
    without = await startModelService({ program: 'grpc-inference', service: 'inference-plain', id: 'inference-plain-1', consulAddress: consul.address, meta: { protocol: 'grpc' }, extraArgs: ['--no-reflection'] });
  });

  after(async () => {
    await withReflection?.stop();
    await without?.stop();
    await consul?.stop();
  });

  it('refuses what grpc-node’s reflection serves, naming the type its file lacks (one synthetic file per package, without its imports)', async () => {
    // @grpc/reflection answers from proto-loader's package definition: one combined file per
    // package, with no imports and no google.api.http options (grpc-node#2595). A set built
    // from it would be refused by Envoy; the xds-server refuses it first, saying why.
    const r = await fetchDescriptorSet(`127.0.0.1:${withReflection.port}`);
    assert.deepEqual(r, { ok: false, reason: 'meshgate_demo_v1.proto refers to .google.protobuf.Empty, which no file the server gave defines' });
  });

  it('refuses a server without reflection, saying so', async () => {
    const r = await fetchDescriptorSet(`127.0.0.1:${without.port}`);
    assert.deepEqual(r, { ok: false, reason: 'reflection failed: the server has no reflection service (v1 nor v1alpha)' });
  });

  it('refuses an address nobody answers, within its time limit', async () => {
    const started = Date.now();
    const r = await fetchDescriptorSet('127.0.0.1:9', { timeoutMs: 1_500 });
    assert.ok(!r.ok);
    assert.ok(Date.now() - started < 5_000);
  });
});
