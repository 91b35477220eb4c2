// When the descriptor source asks a service for its descriptors, with the reflection client
// replaced by a stand-in that answers from the demo's compiled set: once when transcoding comes
// on, again when the service's healthy instances or their registration change (not when another
// service changes), the reason kept in the store's problems when it cannot have one (the last
// good one in force), nothing for a service that is not gRPC but the reason, everything gone
// when transcoding goes off.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { repoRoot } from '../../launcher/repo.js';
import type { ConsulClient } from '../../shared/consul/client.js';
import { filesOfSet, setOfFiles } from '../../shared/proto/file-descriptors.js';
import { XdsMetrics } from '../../xds-server/admin/metrics.js';
import { MeshStore } from '../../xds-server/model/mesh-store.js';
import type { Instance } from '../../xds-server/model/mesh.js';
import { startDescriptorSource } from '../../xds-server/sources/descriptor-source.js';
import type { DescriptorSet } from '../../xds-server/transcoding/descriptor-set.js';

const DEMO = setOfFiles(filesOfSet(fs.readFileSync(path.join(repoRoot(), 'demo', 'protos', 'inference.pb'))));
const SERVICE = 'meshgate.demo.v1.Inference';

function instance(id: string, port: number, meta: Record<string, string>): Instance {
  return { id, node: 'n', address: '127.0.0.1', port, health: 'HEALTHY', zone: '', weight: 1, tags: [], meta };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

function harness(answer: (address: string) => DescriptorSet) {
  const store = new MeshStore({ retainVanishedMs: 60_000 });
  const asked: string[] = [];
  const source = startDescriptorSource({
    store,
    consul: undefined as unknown as ConsulClient,
    kvPrefix: '',
    log: pino({ level: 'silent' }),
    metrics: new XdsMetrics(),
    retryMs: 60_000,
    fetch: async (address) => {
      asked.push(address);
      return answer(address);
    },
  });
  store.markSynced();
  return { store, asked, stop: () => (source.stop(), store.close()) };
}

describe('descriptor source', () => {
  it('asks a healthy instance once, and again only when the service’s instances or registration change', async () => {
    const h = harness(() => ({ ok: true, bytes: DEMO, files: [], services: [SERVICE] }));
    try {
      const meta = { protocol: 'grpc', transcode: 'on' };
      h.store.setInstances('inference', [instance('inference-1', 7001, meta)]);
      await settle();
      assert.deepEqual(h.asked, ['127.0.0.1:7001']);
      const d = h.store.state.descriptors.get('inference');
      assert.ok(d);
      assert.equal(d.source, 'reflection inference-1 (127.0.0.1:7001)');
      assert.deepEqual(d.grpcServices, [SERVICE]);
      // Another service's change: nothing asked.
      h.store.setInstances('web', [instance('web-1', 8000, {})]);
      await settle();
      assert.equal(h.asked.length, 1);
      // The instance re-registered on another port: asked again there.
      h.store.setInstances('inference', [instance('inference-1', 7002, meta)]);
      await settle();
      assert.deepEqual(h.asked, ['127.0.0.1:7001', '127.0.0.1:7002']);
    } finally {
      h.stop();
    }
  });

  it('keeps the last good descriptor when one cannot be had, with the reason, until one is had again', async () => {
    let fail = false;
    const h = harness(() => (fail ? { ok: false, reason: 'reflection failed: the server has no reflection service (v1 nor v1alpha)' } : { ok: true, bytes: DEMO, files: [], services: [SERVICE] }));
    try {
      const meta = { protocol: 'grpc', transcode: 'on' };
      h.store.setInstances('inference', [instance('inference-1', 7001, meta)]);
      await settle();
      const good = h.store.state.descriptors.get('inference');
      assert.ok(good);
      fail = true;
      h.store.setInstances('inference', [instance('inference-1', 7003, meta)]);
      await settle();
      assert.equal(h.store.state.descriptors.get('inference'), good, 'the last good one stays');
      assert.deepEqual(
        h.store.state.problems.map((p) => [p.subject, p.reason]),
        [['descriptor/inference', 'reflection: inference-1 (127.0.0.1:7003): reflection failed: the server has no reflection service (v1 nor v1alpha)']],
      );
      fail = false;
      h.store.setInstances('inference', [instance('inference-1', 7004, meta)]);
      await settle();
      assert.deepEqual(h.store.state.problems, []);
    } finally {
      h.stop();
    }
  });

  it('asks nothing of a service that is not gRPC, saying why, and lets go of everything when transcoding goes off', async () => {
    const h = harness(() => ({ ok: true, bytes: DEMO, files: [], services: [SERVICE] }));
    try {
      h.store.setInstances('web', [instance('web-1', 8000, { transcode: 'on' })]);
      await settle();
      assert.deepEqual(h.asked, []);
      assert.deepEqual(h.store.state.problems.map((p) => p.reason), ["transcoding is on, but the service's protocol is http (from default): set protocol grpc"]);
      h.store.setInstances('web', [instance('web-1', 8000, {})]);
      await settle();
      assert.deepEqual(h.store.state.problems, [], 'transcoding off: the reason goes');
      h.store.setInstances('inference', [instance('inference-1', 7001, { protocol: 'grpc', transcode: 'on' })]);
      await settle();
      assert.equal(h.store.state.descriptors.size, 1);
      h.store.setInstances('inference', [instance('inference-1', 7001, { protocol: 'grpc', transcode: 'off' })]);
      await settle();
      assert.equal(h.store.state.descriptors.size, 0);
    } finally {
      h.stop();
    }
  });
});
