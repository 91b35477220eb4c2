// Watches Consul's catalog and every service's health with blocking queries and tells the
// registry merge what it sees. One watch on /v1/catalog/services starts and stops one watch per
// service on /v1/health/service/<name>. Consul counts as synced only once the catalog and
// every service listed in it have answered once, so no partial mesh is ever served.
import type { Logger } from 'pino';
import { BlockingQuery } from '../../shared/consul/blocking-query.js';
import type { ConsulClient } from '../../shared/consul/client.js';
import { instanceOf } from './consul-health.js';
import type { RegistrySink } from './registry-merge.js';

export interface CatalogSourceOptions {
  readonly client: ConsulClient;
  readonly sink: RegistrySink;
  readonly log: Logger;
  readonly waitMs?: number;
  /** Services never routed (Consul itself, by default). */
  readonly ignore?: readonly string[];
  readonly onWatchError?: (watch: string, err: Error) => void;
}

export class ConsulCatalogSource {
  private catalog: BlockingQuery<Record<string, string[]>> | undefined;
  private readonly services = new Map<string, BlockingQuery<unknown>>();
  private readonly pendingFirstAnswer = new Set<string>();
  private catalogAnswered = false;
  private syncedOnce = false;
  private readonly ignore: Set<string>;

  constructor(private readonly options: CatalogSourceOptions) {
    this.ignore = new Set(options.ignore ?? ['consul']);
  }

  start(): void {
    const { client, waitMs } = this.options;
    this.catalog = new BlockingQuery<Record<string, string[]>>({
      name: 'catalog',
      fetch: (index, wait, signal) => client.catalogServices(index, wait, signal),
      onData: (body) => this.onCatalog(Object.keys(body).filter((n) => !this.ignore.has(n))),
      onError: (err, failures) => this.watchError('catalog', err, failures),
      onAnswer: () => this.options.sink.trouble(undefined),
      onFirstAnswer: () => {
        this.catalogAnswered = true;
        this.maybeSynced();
      },
      ...(waitMs !== undefined ? { waitMs } : {}),
    }).start();
  }

  stop(): void {
    this.catalog?.stop();
    for (const q of this.services.values()) q.stop();
    this.services.clear();
  }

  private onCatalog(names: string[]): void {
    const current = new Set(names);
    for (const name of names) if (!this.services.has(name)) this.watchService(name);
    for (const [name, query] of this.services) {
      if (current.has(name)) continue;
      query.stop();
      this.services.delete(name);
      this.pendingFirstAnswer.delete(name);
      this.options.log.info({ service: name }, 'service left the catalog');
      this.options.sink.removeService(name);
    }
    this.maybeSynced();
  }

  private watchService(name: string): void {
    const { client, sink, waitMs } = this.options;
    this.pendingFirstAnswer.add(name);
    const query = new BlockingQuery({
      name: `health/${name}`,
      fetch: (index, wait, signal) => client.healthService(name, index, wait, signal),
      onData: (entries) => sink.setInstances(name, entries.map(instanceOf)),
      onError: (err, failures) => this.watchError(`health/${name}`, err, failures),
      onFirstAnswer: () => {
        this.pendingFirstAnswer.delete(name);
        this.maybeSynced();
      },
      ...(waitMs !== undefined ? { waitMs } : {}),
    });
    this.services.set(name, query as BlockingQuery<unknown>);
    query.start();
  }

  private watchError(watch: string, err: Error, failures: number): void {
    this.options.onWatchError?.(watch, err);
    if (watch === 'catalog') this.options.sink.trouble(err.message);
    // The first failure and then every tenth, so an outage is visible without flooding logs.
    if (failures === 1 || failures % 10 === 0) {
      this.options.log.warn({ watch, failures, err: err.message }, 'consul watch failing; keeping the last known state');
    }
  }

  private maybeSynced(): void {
    if (this.catalogAnswered && this.pendingFirstAnswer.size === 0 && !this.syncedOnce) {
      this.syncedOnce = true;
      this.options.log.info({ services: this.services.size }, 'first full consul sync');
      this.options.sink.synced();
    }
  }
}
