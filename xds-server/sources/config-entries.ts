// The config-entry source: entries from Consul KV (one entry per key under a prefix) and from
// files, each document validated on its own (model/config-entries), the last good version kept
// when a new one is refused, and the whole set handed to the mesh store whenever it changes.
import type { Logger } from 'pino';
import type { ConsulClient } from '../../shared/consul/client.js';
import { reportDocumentEvents } from '../../shared/documents/report-events.js';
import { startDocumentSources } from '../../shared/documents/start-sources.js';
import type { XdsMetrics } from '../admin/metrics.js';
import { createConfigEntryStore, entriesOf, refusalsOf, type ConfigEntryStore } from '../model/config-entries/entry-store.js';
import type { MeshStore } from '../model/mesh-store.js';

export interface ConfigEntrySourceOptions {
  readonly files: readonly string[];
  /** Consul KV prefix; empty for none. */
  readonly consulPrefix: string;
  readonly consul: ConsulClient;
  readonly store: MeshStore;
  readonly log: Logger;
  readonly metrics: XdsMetrics;
}

export interface ConfigEntrySource {
  /** Every document, in force or refused, for the admin views. */
  readonly entries: ConfigEntryStore;
  stop(): void;
}

export function startConfigEntrySource(o: ConfigEntrySourceOptions): ConfigEntrySource {
  const entries = createConfigEntryStore();
  reportDocumentEvents(entries, o.log, { what: 'config entry', namesField: 'entries', refusals: o.metrics.entryRefusals, inForce: o.metrics.entries });
  entries.onEvent(() => o.store.setConfigEntries(entriesOf(entries.items), refusalsOf(entries.status())));
  // Nothing is built before KV has answered once: a first snapshot without the entries would
  // send every Envoy a config that the next one takes back.
  if (o.consulPrefix) o.store.expectSource('config-entries');
  const sources = startDocumentSources({
    paths: o.files,
    consul: o.consulPrefix ? o.consul : undefined,
    consulPrefix: o.consulPrefix || undefined,
    sink: entries,
    log: o.log,
    what: 'config entry',
    onWatchError: () => o.metrics.consulWatchErrors.inc({ watch: 'kv' }),
    onFirstAnswer: () => o.store.markSynced('config-entries'),
  });
  return { entries, stop: () => sources.stop() };
}
