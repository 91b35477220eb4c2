// The descriptor source: for every service the gateway transcodes (protocol grpc, transcoding
// on), its protobuf descriptors, into the mesh store — from Consul KV when an operator put a set
// (or .proto text, compiled by buf) under `<prefix><service>` (that wins), else asked of a healthy instance over gRPC server
// reflection: again whenever the service's instances or their registration change, and every
// `refreshMs` besides. A descriptor that cannot be had or is refused leaves the last good one in
// force, and the reason in the store's problems (/debug/mesh), a metric and the log; a later
// success clears it. Bounded: one fetch per service at a time, `concurrency` in all.
import type { Logger } from 'pino';
import type { ConsulClient } from '../../shared/consul/client.js';
import { DocumentStore } from '../../shared/documents/document-store.js';
import { startDocumentSources, type RunningSources } from '../../shared/documents/start-sources.js';
import { filesOfSet } from '../../shared/proto/file-descriptors.js';
import { describeRefusal, orThrow, refused } from '../../shared/validate/result.js';
import type { XdsMetrics } from '../admin/metrics.js';
import type { MeshStore } from '../model/mesh-store.js';
import type { MeshState, Service, ServiceDescriptor } from '../model/mesh.js';
import { resolveServicePolicy } from '../resolve/service-policy.js';
import { filesOfDocument } from '../transcoding/descriptor-document.js';
import { compileProto, looksLikeProto } from '../transcoding/proto-compiler.js';
import { fetchDescriptorSet, type ReflectionOptions } from '../transcoding/reflection-client.js';
import { serviceDescriptor } from '../transcoding/service-descriptor.js';

export const DEFAULT_DESCRIPTOR_PREFIX = 'meshgate/descriptors/';
/** Consul KV values are at most 512 KiB. */
const MAX_PROTO_TEXT = 512 * 1024;

export interface DescriptorSourceOptions {
  readonly store: MeshStore;
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
}

/** A KV document: a descriptor set ready to use, or .proto text still to compile. */
type KvDescriptor = { readonly kind: 'set'; readonly descriptor: ServiceDescriptor } | { readonly kind: 'proto'; readonly text: string; readonly source: string };

export interface DescriptorSource {
  /** The KV documents, in force or refused, for the admin views. */
  readonly documents: DocumentStore<KvDescriptor>;
  stop(): void;
}

interface Tracked {
  /** What the last fetch was for (the healthy instances and their registration). */
  fetchedFor?: string;
  wantedFor: string;
  running: boolean;
  timer?: NodeJS.Timeout;
  failures: number;
  service: Service;
}

/** The instances reflection may be asked, and everything about them a change of which means "ask again". */
function healthyKey(service: Service): string {
  return JSON.stringify(service.instances.filter((i) => i.health === 'HEALTHY').map((i) => [i.id, i.address, i.port, i.tags, i.meta]));
}

export function startDescriptorSource(o: DescriptorSourceOptions): DescriptorSource {
  const refreshMs = o.refreshMs ?? 300_000;
  const retryMs = o.retryMs ?? 5_000;
  const concurrency = o.concurrency ?? 4;
  const fetch = o.fetch ?? fetchDescriptorSet;
  const tracked = new Map<string, Tracked>();
  const queue: string[] = [];
  let active = 0;
  let stopped = false;
  const serviceOfDocument = (id: string): string => id.slice(id.lastIndexOf('/') + 1);

  const documents = new DocumentStore<KvDescriptor>({
    compile(text, source) {
      const service = serviceOfDocument(source.document);
      const from = `consul kv ${source.document.replace(/^consul:/, '')} (index ${source.version})`;
      if (looksLikeProto(text)) {
        if (text.length > MAX_PROTO_TEXT) throw new Error(`.proto text of ${text.length} characters, more than ${MAX_PROTO_TEXT}`);
        return new Map([[service, { kind: 'proto', text, source: from } as const]]);
      }
      const files = orThrow(filesOfDocument(text));
      const d = orThrow(serviceDescriptor(files, undefined, { service, source: from, loadedAt: new Date().toISOString() }));
      return new Map([[service, { kind: 'set', descriptor: d } as const]]);
    },
    conflict: (name, other) => `${name} already has a descriptor from ${other}`,
  });
  /** The services with a KV document, in force or refused: KV, not reflection, is their source. */
  const inKv = new Set<string>();
  documents.onEvent((e) => {
    if (e.kind === 'removed') inKv.delete(serviceOfDocument(e.document));
    else inKv.add(serviceOfDocument(e.document));
    if (e.kind === 'removed') {
      o.log.warn({ document: e.document }, 'descriptor removed from Consul KV; asking the service over reflection again');
      const t = tracked.get(serviceOfDocument(e.document));
      if (t) {
        t.fetchedFor = undefined;
        schedule(serviceOfDocument(e.document), 0);
      }
      return;
    }
    const service = serviceOfDocument(e.document);
    if (e.kind === 'refused') return refuseKv(service, e.reason);
    useKv(service);
  });

  /** .proto text waiting for buf, by service (the newest only); one compiles at a time. */
  const toCompile = new Map<string, Extract<KvDescriptor, { kind: 'proto' }>>();
  let compiling = false;

  const refuseFromKv = (service: string, reason: string): void => o.store.refuseDescriptor(service, `consul kv ${o.kvPrefix}${service}: ${reason}`);

  function refuseKv(service: string, reason: string): void {
    o.metrics.descriptorFetches.inc({ service, source: 'consul', result: 'refused' });
    o.log.error({ service, document: `${o.kvPrefix}${service}`, reason }, 'descriptor refused; the last good one stays in force');
    if (tracked.has(service)) refuseFromKv(service, reason);
  }

  function takeDescriptor(d: ServiceDescriptor): void {
    o.metrics.descriptorFetches.inc({ service: d.service, source: 'consul', result: 'ok' });
    o.log.info({ service: d.service, source: d.source, digest: d.digest, grpcServices: d.grpcServices }, 'descriptor in force');
    o.store.setDescriptor(d);
  }

  /** The KV document in force for a tracked service: its set now, or its .proto text once compiled. */
  function useKv(service: string): void {
    const item = documents.items.get(service);
    if (!item || !tracked.has(service)) return;
    if (item.kind === 'set') return takeDescriptor(item.descriptor);
    toCompile.set(service, item);
    void compileNext();
  }

  async function compileNext(): Promise<void> {
    if (compiling || stopped) return;
    const next = toCompile.entries().next();
    if (next.done) return;
    const [service, item] = next.value;
    toCompile.delete(service);
    compiling = true;
    try {
      const files = await compileProto(item.text, `${service}.proto`).catch((err: Error) => refused<Uint8Array[]>('', `buf could not be run: ${err.message}`));
      // A newer document (or none) since: its own turn decides.
      if (stopped || documents.items.get(service) !== item || !tracked.has(service)) return;
      const d = files.ok ? serviceDescriptor(files.value, undefined, { service, source: `${item.source}, compiled by buf`, loadedAt: new Date().toISOString() }) : files;
      if (d.ok) takeDescriptor(d.value);
      else refuseKv(service, describeRefusal(d));
    } finally {
      compiling = false;
      void compileNext();
    }
  }

  const fromKv = (service: string): boolean => inKv.has(service);

  function schedule(service: string, delayMs: number): void {
    const t = tracked.get(service);
    if (!t || stopped) return;
    clearTimeout(t.timer);
    t.timer = setTimeout(() => {
      t.timer = undefined;
      if (!queue.includes(service)) queue.push(service);
      pump();
    }, delayMs);
    t.timer.unref();
  }

  function pump(): void {
    while (!stopped && active < concurrency && queue.length) {
      const service = queue.shift()!;
      const t = tracked.get(service);
      if (!t || t.running || fromKv(service)) continue;
      active += 1;
      t.running = true;
      void fetchOne(service, t)
        .catch((err: Error) => o.log.error({ service, err }, 'descriptor fetch failed unexpectedly; the last good one stays in force'))
        .finally(() => {
          active -= 1;
          t.running = false;
          if (tracked.get(service) === t && t.fetchedFor !== t.wantedFor) schedule(service, 0);
          pump();
        });
    }
  }

  async function fetchOne(service: string, t: Tracked): Promise<void> {
    const key = t.wantedFor;
    const instances = t.service.instances.filter((i) => i.health === 'HEALTHY');
    if (!instances.length) {
      t.fetchedFor = key; // nothing to ask: the last good descriptor stays
      return;
    }
    const reasons: string[] = [];
    let answered = false;
    for (const instance of instances.slice(0, 3)) {
      const address = `${instance.address}:${instance.port}`;
      const set = await fetch(address, o.reflection);
      if (stopped || tracked.get(service) !== t) return;
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
      t.fetchedFor = key;
      t.failures = 0;
      if (fromKv(service)) return;
      o.metrics.descriptorFetches.inc({ service, source: 'reflection', result: 'ok' });
      if (o.store.state.descriptors.get(service)?.digest !== d.value.digest) {
        o.log.info({ service, source: d.value.source, digest: d.value.digest, grpcServices: d.value.grpcServices, methods: d.value.methods.length }, 'descriptor in force');
      }
      o.store.setDescriptor(d.value);
      schedule(service, refreshMs);
      return;
    }
    t.fetchedFor = key;
    t.failures += 1;
    o.metrics.descriptorFetches.inc({ service, source: 'reflection', result: answered ? 'refused' : 'failed' });
    const reason = `reflection: ${reasons.join('; ')}`;
    o.log.error({ service, reason, failures: t.failures }, 'descriptor not had; the last good one stays in force');
    o.store.refuseDescriptor(service, reason);
    schedule(service, Math.min(60_000, retryMs * 2 ** Math.min(t.failures - 1, 4)));
  }

  /** The state onState last looked at: only services whose record changed are looked at again. */
  let seen: MeshState | undefined;

  function onState(state: MeshState): void {
    const before = seen;
    seen = state;
    // Config entries (service-defaults) can change any service's settings: then all of them.
    const all = !before || before.entries !== state.entries;
    for (const [name, service] of state.services) {
      if (!all && before.services.get(name) === service) continue;
      const policy = resolveServicePolicy(state, name);
      if (!policy.transcoding.enabled) {
        forget(name); // also clears a refusal of a service that was never tracked (not grpc)
        continue;
      }
      if (policy.protocol !== 'grpc') {
        if (tracked.has(name)) forget(name);
        o.store.refuseDescriptor(name, `transcoding is on, but the service's protocol is ${policy.protocol} (from ${policy.decidedBy.protocol}): set protocol grpc`);
        continue;
      }
      const key = healthyKey(service);
      let t = tracked.get(name);
      if (!t) {
        t = { wantedFor: key, running: false, failures: 0, service };
        tracked.set(name, t);
        const refusal = documents.status().find((st) => serviceOfDocument(st.id) === name)?.last_refusal;
        if (documents.items.has(name)) useKv(name);
        else if (refusal) refuseFromKv(name, refusal.reason);
        if (!fromKv(name)) schedule(name, 0);
        continue;
      }
      t.service = service;
      if (t.wantedFor === key) continue;
      t.wantedFor = key;
      if (!t.running) schedule(name, 0);
    }
    for (const name of [...tracked.keys()]) if (!state.services.has(name)) forget(name);
  }

  function forget(name: string): void {
    const t = tracked.get(name);
    if (t) clearTimeout(t.timer);
    tracked.delete(name);
    o.store.dropDescriptor(name);
  }

  let sources: RunningSources | undefined;
  if (o.kvPrefix) {
    o.store.expectSource('descriptors');
    sources = startDocumentSources({
      paths: [],
      consul: o.consul,
      consulPrefix: o.kvPrefix,
      sink: documents,
      log: o.log,
      what: 'descriptor',
      onWatchError: () => o.metrics.consulWatchErrors.inc({ watch: 'kv' }),
      onFirstAnswer: () => o.store.markSynced('descriptors'),
    });
  }
  // Read the state after the store's listeners have run, never from inside its publish: this
  // source writes to the store, and changes that come together are looked at once.
  let pending = false;
  const onChange = (): void => {
    if (pending) return;
    pending = true;
    queueMicrotask(() => {
      pending = false;
      if (!stopped) onState(o.store.state);
    });
  };
  const unsubscribe = o.store.onChange(onChange);
  if (o.store.synced) onChange();

  return {
    documents,
    stop() {
      stopped = true;
      unsubscribe();
      sources?.stop();
      for (const t of tracked.values()) clearTimeout(t.timer);
    },
  };
}
