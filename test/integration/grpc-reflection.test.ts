// Descriptors found by gRPC server reflection (issue 14's first step): the xds-server's client
// asks a real @grpc/grpc-js server with @grpc/reflection for its services, their files and every
// import, and assembles the descriptor set the gRPC-JSON transcoder needs, or refuses with the
// reason: an incomplete set, a server without reflection, an address nobody answers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startConsul, type ConsulAgent } from '../../launcher/consul-agent.js';
import { startModelService, type ModelServiceProcess } from '../../launcher/model-service.js';
import { fetchDescriptorSet } from '../../xds-server/transcoding/reflection-client.js';
import { toolPath } from '../../launcher/repo.js';

/** The smallest Envoy bootstrap with a gRPC-JSON transcoder carrying `set`. */
function transcoderBootstrap(set: Buffer): unknown {
  return {
    static_resources: {
      listeners: [
        {
          name: 'l',
          address: { socket_address: { address: '127.0.0.1', port_value: 1 } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'x',
                    route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] },
                    http_filters: [
                      {
                        name: 'envoy.filters.http.grpc_json_transcoder',
                        typed_config: {
                          '@type': 'type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder',
                          proto_descriptor_bin: set.toString('base64'),
                          services: ['meshgate.demo.v1.Inference'],
                        },
                      },
                      { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [{ name: 'c', type: 'STATIC', load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 2 } } } }] }] } }],
    },
  };
}

describe('gRPC server reflection → descriptor set', () => {
  let consul: ConsulAgent;
  let full: ModelServiceProcess;
  let withReflection: ModelServiceProcess;
  let without: ModelServiceProcess;

  before(async () => {
    consul = await startConsul({});
    full = await startModelService({ program: 'grpc-inference', service: 'inference', id: 'inference-1', consulAddress: consul.address, meta: { protocol: 'grpc' } });
    withReflection = await startModelService({ program: 'grpc-inference', service: 'inference-node', id: 'inference-node-1', consulAddress: consul.address, meta: { protocol: 'grpc' }, extraArgs: ['--reflection=grpc-node'] });
    without = await startModelService({ program: 'grpc-inference', service: 'inference-plain', id: 'inference-plain-1', consulAddress: consul.address, meta: { protocol: 'grpc' }, extraArgs: ['--reflection=off'] });
  });

  after(async () => {
    await full?.stop();
    await withReflection?.stop();
    await without?.stop();
    await consul?.stop();
  });

  it('assembles a server’s files and every import, each after what it imports, the google.api.http options kept', async () => {
    const r = await fetchDescriptorSet(`127.0.0.1:${full.port}`);
    assert.ok(r.ok, r.ok ? '' : r.reason);
    assert.deepEqual(r.services, ['meshgate.demo.v1.Inference']);
    assert.deepEqual(r.files, ['google/api/http.proto', 'google/protobuf/descriptor.proto', 'google/api/annotations.proto', 'google/protobuf/empty.proto', 'meshgate/demo/v1/inference.proto']);
    for (const p of ['/v1/inference/embed', '/v1/inference/generate', '/v1/inference/info']) assert.ok(r.bytes.includes(Buffer.from(p)), p);
    // Envoy's gRPC-JSON transcoder accepts it (a bootstrap that carries it, validated by Envoy itself).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-transcoder-'));
    try {
      const bootstrap = path.join(dir, 'envoy.json');
      fs.writeFileSync(bootstrap, JSON.stringify(transcoderBootstrap(r.bytes)));
      const v = spawnSync(toolPath('envoy'), ['--mode', 'validate', '-c', bootstrap, '--log-level', 'error'], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(v.status, 0, `${v.stdout}${v.stderr}`);
      // And refuses a set with a file missing: what the xds-server's own checks stand in front of.
      const broken = transcoderBootstrap(r.bytes.subarray(0, r.bytes.length - 40));
      fs.writeFileSync(bootstrap, JSON.stringify(broken));
      assert.notEqual(spawnSync(toolPath('envoy'), ['--mode', 'validate', '-c', bootstrap, '--log-level', 'error'], { encoding: 'utf8', timeout: 60_000 }).status, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
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
