// When the descriptor source asks a service for its descriptors, with the reflection client
// replaced by a stand-in that answers from the demo's compiled set, handed the resolved mesh's
// wanted list as the xds-server hands it: once when transcoding comes on, again when the
// service's healthy instances or their registration change (not when another service changes),
// the reason kept in the store's problems when it cannot have one (the last good one in force),
// nothing for a service that is not gRPC but the reason, everything gone when transcoding goes
// off; on its own clock, a refresh and a back-off. "Nothing happened" is read after the source's
// idle() barrier, never after a sleep.
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
import { MeshResolver } from '../../xds-server/resolve/mesh-resolver.js';
import { startDescriptorSource } from '../../xds-server/sources/descriptor-source.js';
import type { Scheduler } from '../../xds-server/sources/descriptors/scheduler.js';
import { GATEWAY_SETTINGS } from '../helpers/mesh-fixtures.js';
import type { DescriptorSet } from '../../xds-server/transcoding/descriptor-set.js';

const DEMO = setOfFiles(filesOfSet(fs.readFileSync(path.join(repoRoot(), 'demo', 'protos', 'inference.pb'))));
const SERVICE = 'meshgate.demo.v1.Inference';

function instance(id: string, port: number, meta: Record<string, string>): Instance {
  return { id, node: 'n', address: '127.0.0.1', port, health: 'HEALTHY', registry: 'consul', zone: '', weight: 1, tags: [], meta };
}

/** A clock the test moves: timers run when it is advanced past them. */
class ManualClock implements Scheduler {
  now = 0;
  private readonly timers = new Map<number, { at: number; run: () => void }>();
  private next = 1;
  setTimeout(run: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.now + ms, run });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** When the next timer is due, if any. */
  get pending(): number[] {
    return [...this.timers.values()].map((t) => t.at - this.now).sort((a, b) => a - b);
  }
  advance(ms: number): void {
    this.now += ms;
    for (const [id, t] of [...this.timers].sort(([, a], [, b]) => a.at - b.at)) {
      if (t.at > this.now) continue;
      this.timers.delete(id);
      t.run();
    }
  }
}

function harness(answer: (address: string) => DescriptorSet) {
  const store = new MeshStore({ retainVanishedMs: 60_000 });
  const asked: string[] = [];
  const clock = new ManualClock();
  const source = startDescriptorSource({
    sink: store,
    consul: undefined as unknown as ConsulClient,
    kvPrefix: '',
    log: pino({ level: 'silent' }),
    metrics: new XdsMetrics(),
    refreshMs: 300_000,
    retryMs: 5_000,
    scheduler: clock,
    fetch: async (address) => {
      asked.push(address);
      return answer(address);
    },
  });
  store.markSynced();
  const resolver = new MeshResolver(GATEWAY_SETTINGS);
  /** What the xds-server does after a change: resolve, hand the wanted list over; then the barrier. */
  const settle = async (): Promise<void> => {
    source.want(resolver.resolve(store.state).descriptors);
    await source.idle();
  };
  return { store, asked, clock, settle, source, stop: () => (source.stop(), store.close()) };
}

describe('descriptor source', () => {
  it('asks a healthy instance once, and again only when the service’s instances or registration change', async () => {
    const h = harness(() => ({ ok: true, bytes: DEMO, files: [], services: [SERVICE] }));
    try {
      const meta = { protocol: 'grpc', transcode: 'on' };
      h.store.setInstances('inference', [instance('inference-1', 7001, meta)]);
      await h.settle();
      assert.deepEqual(h.asked, ['127.0.0.1:7001']);
      const d = h.store.state.descriptors.get('inference');
      assert.ok(d);
      assert.equal(d.source, 'reflection inference-1 (127.0.0.1:7001)');
      assert.deepEqual(d.grpcServices, [SERVICE]);
      // Another service's change: nothing asked.
      h.store.setInstances('web', [instance('web-1', 8000, {})]);
      await h.settle();
      assert.equal(h.asked.length, 1);
      // The instance re-registered on another port: asked again there.
      h.store.setInstances('inference', [instance('inference-1', 7002, meta)]);
      await h.settle();
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
      await h.settle();
      const good = h.store.state.descriptors.get('inference');
      assert.ok(good);
      fail = true;
      h.store.setInstances('inference', [instance('inference-1', 7003, meta)]);
      await h.settle();
      assert.equal(h.store.state.descriptors.get('inference'), good, 'the last good one stays');
      assert.deepEqual(
        h.store.state.problems.map((p) => [p.subject, p.reason]),
        [['descriptor/inference', 'reflection: inference-1 (127.0.0.1:7003): reflection failed: the server has no reflection service (v1 nor v1alpha)']],
      );
      fail = false;
      h.store.setInstances('inference', [instance('inference-1', 7004, meta)]);
      await h.settle();
      assert.deepEqual(h.store.state.problems, []);
    } finally {
      h.stop();
    }
  });

  it('asks nothing of a service that is not gRPC, saying why, and lets go of everything when transcoding goes off', async () => {
    const h = harness(() => ({ ok: true, bytes: DEMO, files: [], services: [SERVICE] }));
    try {
      h.store.setInstances('web', [instance('web-1', 8000, { transcode: 'on' })]);
      await h.settle();
      assert.deepEqual(h.asked, []);
      assert.deepEqual(h.store.state.problems.map((p) => p.reason), ["transcoding is on, but the service's protocol is http (from default): set protocol grpc"]);
      h.store.setInstances('web', [instance('web-1', 8000, {})]);
      await h.settle();
      assert.deepEqual(h.store.state.problems, [], 'transcoding off: the reason goes');
      h.store.setInstances('inference', [instance('inference-1', 7001, { protocol: 'grpc', transcode: 'on' })]);
      await h.settle();
      assert.equal(h.store.state.descriptors.size, 1);
      h.store.setInstances('inference', [instance('inference-1', 7001, { protocol: 'grpc', transcode: 'off' })]);
      await h.settle();
      assert.equal(h.store.state.descriptors.size, 0);
    } finally {
      h.stop();
    }
  });
});

describe('descriptor source on its own clock', () => {
  it('asks again after the refresh interval, and after a failure with a back-off that doubles', async () => {
    let fail = false;
    const h = harness(() => (fail ? { ok: false, reason: 'connection refused' } : { ok: true, bytes: DEMO, files: [], services: [SERVICE] }));
    try {
      h.store.setInstances('inference', [instance('inference-1', 7001, { protocol: 'grpc', transcode: 'on' })]);
      await h.settle();
      assert.equal(h.asked.length, 1);
      assert.deepEqual(h.clock.pending, [300_000], 'the next ask: the refresh');
      h.clock.advance(299_999);
      await h.source.idle();
      assert.equal(h.asked.length, 1, 'not before');
      fail = true;
      h.clock.advance(1);
      await h.source.idle();
      assert.equal(h.asked.length, 2, 'asked at the refresh');
      assert.deepEqual(h.clock.pending, [5_000], 'failed: again after the retry interval');
      h.clock.advance(5_000);
      await h.source.idle();
      assert.deepEqual(h.clock.pending, [10_000], 'failed twice: doubled');
      assert.ok(h.store.state.descriptors.get('inference'), 'the last good one stays throughout');
      fail = false;
      h.clock.advance(10_000);
      await h.source.idle();
      assert.equal(h.asked.length, 4);
      assert.deepEqual(h.store.state.problems, []);
      assert.deepEqual(h.clock.pending, [300_000], 'back to the refresh');
    } finally {
      h.stop();
    }
  });

  it('asks a changed service again at once, even while its fetch runs, and lets a service that goes stop its timer', async () => {
    const h = harness(() => ({ ok: true, bytes: DEMO, files: [], services: [SERVICE] }));
    try {
      const meta = { protocol: 'grpc', transcode: 'on' };
      h.store.setInstances('inference', [instance('inference-1', 7001, meta)]);
      // Changed while the first fetch has not finished: asked again once it has.
      h.source.want(new MeshResolver(GATEWAY_SETTINGS).resolve(h.store.state).descriptors);
      h.store.setInstances('inference', [instance('inference-1', 7002, meta)]);
      await h.settle();
      assert.deepEqual(h.asked, ['127.0.0.1:7001', '127.0.0.1:7002']);
      h.store.setInstances('inference', [instance('inference-1', 7002, { protocol: 'grpc' })]);
      await h.settle();
      assert.deepEqual(h.clock.pending, [], 'transcoding off: no timer left');
    } finally {
      h.stop();
    }
  });
});
