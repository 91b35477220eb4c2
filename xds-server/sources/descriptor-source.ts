// The descriptor source: protobuf descriptors of the services the gateway transcodes, handed to
// the mesh store like any other source's view. It is handed the wanted list (the resolved
// mesh's: transcoding on, protocol grpc, with their healthy instances) and does four jobs, each
// in its own file under descriptors/:
//   - the KV documents an operator put under `<prefix><service>` (a set, or .proto text) —
//     those win over reflection (kv-descriptors.ts);
//   - the compile queue for .proto text, buf one at a time (compile-queue.ts);
//   - the reflection scheduler: a healthy instance asked at once, again when the service's
//     instances or registration change and every `refreshMs`, with a back-off after a failure,
//     bounded in concurrency, on an injected clock (reflection-scheduler.ts);
//   - the wanted list, here: what to track, what to let go.
// A descriptor that cannot be had or is refused leaves the last good one in force, and the
// reason in the store's problems (/debug/mesh), a metric and the log; a later success clears it.
import type { Logger } from 'pino';
import type { ConsulClient } from '../../shared/consul/client.js';
import type { DocumentStore } from '../../shared/documents/document-store.js';
import { startDocumentSources, type RunningSources } from '../../shared/documents/start-sources.js';
import { filesOfSet } from '../../shared/proto/file-descriptors.js';
import { describeRefusal } from '../../shared/validate/result.js';
import type { XdsMetrics } from '../admin/metrics.js';
import type { DescriptorSink, ServiceDescriptor, WantedDescriptor, WantedDescriptors } from '../model/mesh.js';
import { fetchDescriptorSet, type ReflectionOptions } from '../transcoding/reflection-client.js';
import { serviceDescriptor } from '../transcoding/service-descriptor.js';
import { CompileQueue } from './descriptors/compile-queue.js';
import { kvDescriptorDocuments, serviceOfDocument, type KvDescriptor } from './descriptors/kv-descriptors.js';
import { ReflectionScheduler } from './descriptors/reflection-scheduler.js';
import { REAL_TIME, type Scheduler } from './descriptors/scheduler.js';

export const DEFAULT_DESCRIPTOR_PREFIX = 'meshgate/descriptors/';

export interface DescriptorSourceOptions {
  readonly sink: DescriptorSink;
  readonly consul: ConsulClient;
  /** KV prefix of operator-given sets, one key per service; empty for none. */
  readonly kvPrefix: string;
  readonly log: Logger;
  readonly metrics: XdsMetrics;
  readonly reflection?: ReflectionOptions;
  /** Ask again this often even when nothing changed (a server may change what it serves). */
  readonly refreshMs?: number;
  /** After a failed fetch, try again after this (doubling up to a minute). */
  readonly retryMs?: number;
  readonly concurrency?: number;
  readonly fetch?: typeof fetchDescriptorSet;
  readonly scheduler?: Scheduler;
}

export interface DescriptorSource {
  /** The KV documents, in force or refused, for the admin views. */
  readonly documents: DocumentStore<KvDescriptor>;
  /** The services wanted now (each call replaces the list). */
  want(list: WantedDescriptors): void;
  /** Resolves once nothing is being fetched or compiled (what is due later waits for the clock). */
  idle(): Promise<void>;
  stop(): void;
}

interface Tracked {
  wanted: WantedDescriptor;
  failures: number;
  /** The last descriptor from reflection (to log a change once). */
  digest?: string;
}

export function startDescriptorSource(o: DescriptorSourceOptions): DescriptorSource {
  const refreshMs = o.refreshMs ?? 300_000;
  const retryMs = o.retryMs ?? 5_000;
  const fetch = o.fetch ?? fetchDescriptorSet;
  const tracked = new Map<string, Tracked>();
  /** Services refused for a reason of the wanted list's (not gRPC): the reason as last told. */
  const refusedByList = new Map<string, string>();
  const documents = kvDescriptorDocuments();
  /** The services with a KV document, in force or refused: KV, not reflection, is their source. */
  const inKv = new Set<string>();
  const fromKv = (service: string): boolean => inKv.has(service);

  /** `changed`: a descriptor other than the one in force (logged); the same one again only clears a refusal since. */
  function take(d: ServiceDescriptor, source: 'consul' | 'reflection', changed = true): void {
    o.metrics.descriptorFetches.inc({ service: d.service, source, result: 'ok' });
    if (changed) o.log.info({ service: d.service, source: d.source, digest: d.digest, grpcServices: d.grpcServices, methods: d.methods.length }, 'descriptor in force');
    o.sink.setDescriptor(d);
  }

  /** A KV document's refusal, as the store shows it. */
  const kvRefusal = (service: string, reason: string): void => o.sink.refuseDescriptor(service, `consul kv ${o.kvPrefix}${service}: ${reason}`);

  function refuseKv(service: string, reason: string): void {
    o.metrics.descriptorFetches.inc({ service, source: 'consul', result: 'refused' });
    o.log.error({ service, document: `${o.kvPrefix}${service}`, reason }, 'descriptor refused; the last good one stays in force');
    if (tracked.has(service)) kvRefusal(service, reason);
  }

  const compiler = new CompileQueue({
    stillWanted: (service, item) => documents.items.get(service) === item && tracked.has(service),
    done: (service, d) => (d.ok ? take(d.value, 'consul') : refuseKv(service, describeRefusal(d))),
  });

  /** The KV document in force for a tracked service: its set now, or its .proto text once compiled. */
  function useKv(service: string): void {
    const item = documents.items.get(service);
    if (!item || !tracked.has(service)) return;
    if (item.kind === 'set') take(item.descriptor, 'consul');
    else compiler.put(service, item);
  }

  documents.onEvent((e) => {
    const service = serviceOfDocument(e.document);
    if (e.kind === 'removed') {
      inKv.delete(service);
      o.log.warn({ document: e.document }, 'descriptor removed from Consul KV; asking the service over reflection again');
      if (tracked.has(service)) reflection.schedule(service, 0);
      return;
    }
    inKv.add(service);
    reflection.cancel(service);
    if (e.kind === 'refused') refuseKv(service, e.reason);
    else useKv(service);
  });

  /** One reflection fetch; how long until the next. */
  async function fetchOne(service: string): Promise<number | undefined> {
    const t = tracked.get(service);
    if (!t || fromKv(service)) return undefined;
    const instances = t.wanted.instances;
    if (!instances.length) return undefined; // nothing to ask: the last good descriptor stays
    const reasons: string[] = [];
    let answered = false;
    for (const instance of instances.slice(0, 3)) {
      const address = `${instance.address}:${instance.port}`;
      const set = await fetch(address, o.reflection);
      if (stopped || tracked.get(service) !== t) return undefined;
      if (!set.ok) {
        reasons.push(`${instance.id} (${address}): ${set.reason}`);
        continue;
      }
      answered = true;
      const d = serviceDescriptor(filesOfSet(set.bytes), set.services, { service, source: `reflection ${instance.id} (${address})`, loadedAt: new Date().toISOString() });
      if (!d.ok) {
        // The service's answer, not one instance's trouble: the next instance would say the same.
        reasons.push(`${instance.id} (${address}): ${describeRefusal(d)}`);
        break;
      }
      t.failures = 0;
      if (fromKv(service)) return undefined;
      take(d.value, 'reflection', t.digest !== d.value.digest);
      t.digest = d.value.digest;
      return refreshMs;
    }
    t.failures += 1;
    o.metrics.descriptorFetches.inc({ service, source: 'reflection', result: answered ? 'refused' : 'failed' });
    const reason = `reflection: ${reasons.join('; ')}`;
    o.log.error({ service, reason, failures: t.failures }, 'descriptor not had; the last good one stays in force');
    o.sink.refuseDescriptor(service, reason);
    return Math.min(60_000, retryMs * 2 ** Math.min(t.failures - 1, 4));
  }

  const reflection = new ReflectionScheduler({
    concurrency: o.concurrency ?? 4,
    scheduler: o.scheduler ?? REAL_TIME,
    fetch: fetchOne,
    onError: (service, err) => o.log.error({ service, err }, 'descriptor fetch failed unexpectedly; the last good one stays in force'),
  });

  function forget(service: string): void {
    tracked.delete(service);
    reflection.cancel(service);
    o.sink.dropDescriptor(service);
  }

  let stopped = false;

  function want(list: WantedDescriptors): void {
    if (stopped) return;
    const wanted = new Map(list.wanted.map((w) => [w.service, w]));
    const refusedNow = new Map(list.refused.map((r) => [r.service, r.reason]));
    for (const service of [...tracked.keys()]) if (!wanted.has(service)) forget(service);
    for (const service of [...refusedByList.keys()]) {
      if (refusedNow.has(service)) continue;
      refusedByList.delete(service);
      if (!wanted.has(service)) o.sink.dropDescriptor(service); // the reason goes with it
    }
    for (const [service, reason] of refusedNow) {
      if (refusedByList.get(service) === reason) continue;
      refusedByList.set(service, reason);
      o.sink.refuseDescriptor(service, reason);
    }
    for (const w of wanted.values()) {
      const t = tracked.get(w.service);
      if (!t) {
        tracked.set(w.service, { wanted: w, failures: 0 });
        const refusal = documents.status().find((st) => serviceOfDocument(st.id) === w.service)?.last_refusal;
        if (documents.items.has(w.service)) useKv(w.service);
        else if (refusal) kvRefusal(w.service, refusal.reason);
        if (!fromKv(w.service)) reflection.schedule(w.service, 0);
        continue;
      }
      const changed = t.wanted.key !== w.key;
      t.wanted = w;
      if (changed && !fromKv(w.service)) reflection.schedule(w.service, 0);
    }
  }

  let sources: RunningSources | undefined;
  if (o.kvPrefix) {
    o.sink.expectSource('descriptors');
    sources = startDocumentSources({
      paths: [],
      consul: o.consul,
      consulPrefix: o.kvPrefix,
      sink: documents,
      log: o.log,
      what: 'descriptor',
      onWatchError: () => o.metrics.consulWatchErrors.inc({ watch: 'kv' }),
      onFirstAnswer: () => o.sink.markSynced('descriptors'),
    });
  }

  return {
    documents,
    want,
    async idle() {
      // Neither starts work for the other: a compile hands its descriptor on, a fetch compiles nothing.
      await Promise.all([reflection.idle(), compiler.idle()]);
    },
    stop() {
      stopped = true;
      sources?.stop();
      reflection.stop();
      compiler.stop();
    },
  };
}
