// Watches ZooKeeper's service-discovery tree (Curator's layout: `<base>/<service>/<instance>`,
// curator-instance.ts reads each node) and tells the registry merge what it holds. Watches, not
// polling: a children watch on the base path and on each service, a data watch on each
// instance; ZooKeeper's watches fire once, so each is set again by the read it triggers.
//
// Sessions: on every (re)connection the whole tree is read again in a new generation (replies
// and watches of an older one are ignored) and the merge is told only once that read is
// complete, so a reconnection never serves a half-read tree. An expired session is a new client
// (the library cannot revive one), and everything is read again. While disconnected, the last
// view is kept and the outage shows as the registry's trouble.
import zookeeper from 'node-zookeeper-client';
import type { Logger } from 'pino';
import type { Instance } from '../model/mesh.js';
import { describeRefusal, type Checked } from '../../shared/validate/result.js';
import { curatorInstance } from './curator-instance.js';
import { meshServiceName } from './registry-instance.js';
import type { RegistryLimits } from './registry-limits.js';
import type { RegistrySink } from './registry-merge.js';

export interface ZooKeeperSourceOptions {
  /** "host:port[,host:port…][/chroot]" */
  readonly connect: string;
  /** Where services are registered (Spring Cloud Zookeeper's default: /services). */
  readonly basePath: string;
  /** "user:password" for ZooKeeper's digest scheme. */
  readonly digestAuth?: string;
  readonly sessionTimeoutMs: number;
  readonly limits: RegistryLimits;
  readonly sink: RegistrySink;
  readonly log: Logger;
}

interface ServiceWatch {
  /** The registry's own name of the service (its node's). */
  readonly node: string;
  /** By instance node name: the instance, or why it was refused. */
  readonly entries: Map<string, Checked<Instance>>;
  /** Why the service itself is not wholly read: its list unreadable, or past the limit. */
  problem: string | undefined;
  /** Instance reads not answered yet. */
  pending: number;
  listed: boolean;
}

/** One session's view and watches (an older one is told apart by identity). */
interface Generation {
  readonly services: Map<string, ServiceWatch>;
  /** Reads of the initial tree not answered yet; the merge hears of it once this is 0. */
  pendingReads: number;
  complete: boolean;
}

type ZkError = Error | zookeeper.Exception;
/** How soon an unreadable base path is read again. */
const RETRY_MS = 1_000;
const isNoNode = (err: ZkError): boolean => 'getCode' in err && err.getCode() === zookeeper.Exception.NO_NODE;
const messageOf = (err: ZkError): string => ('getCode' in err ? err.toString() : err.message);

export class ZooKeeperSource {
  private client: zookeeper.Client | undefined;
  private generation: Generation | undefined;
  /** Services the merge holds from this source (by mesh name), across generations. */
  private readonly published = new Set<string>();
  private readonly dirty = new Set<string>();
  private flushScheduled = false;
  private stopped = false;
  private syncedOnce = false;

  constructor(private readonly options: ZooKeeperSourceOptions) {}

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.generation = undefined;
    this.client?.close();
    this.client = undefined;
  }

  private connect(): void {
    if (this.stopped) return;
    const client = zookeeper.createClient(this.options.connect, { sessionTimeout: this.options.sessionTimeoutMs, spinDelay: 500, retries: 0 });
    this.client = client;
    if (this.options.digestAuth) client.addAuthInfo('digest', Buffer.from(this.options.digestAuth));
    client.on('state', (state: zookeeper.State) => {
      if (client !== this.client) return;
      if (state === zookeeper.State.SYNC_CONNECTED || state === zookeeper.State.CONNECTED_READ_ONLY) {
        this.options.sink.trouble(undefined);
        this.readAll(client);
      } else if (state === zookeeper.State.DISCONNECTED) {
        this.generation = undefined;
        this.options.sink.trouble('disconnected from ZooKeeper');
      } else if (state === zookeeper.State.AUTH_FAILED) {
        this.options.sink.trouble('ZooKeeper refused the digest credentials');
      } else if (state === zookeeper.State.EXPIRED) {
        // The session is gone, and with it every watch: a new client reads everything again.
        this.options.log.warn('zookeeper session expired; reconnecting with a new session');
        this.options.sink.trouble('the ZooKeeper session expired');
        this.generation = undefined;
        client.close();
        this.connect();
      }
    });
    client.connect();
  }

  /** Read the whole tree in a new generation; publish once all of it has answered. */
  private readAll(client: zookeeper.Client): void {
    const gen: Generation = { services: new Map(), pendingReads: 0, complete: false };
    this.generation = gen;
    this.listServices(client, gen);
  }

  private current(gen: Generation): boolean {
    return this.generation === gen && !this.stopped;
  }

  private begin(gen: Generation): void {
    if (!gen.complete) gen.pendingReads += 1;
  }

  private end(gen: Generation): void {
    if (gen.complete || !this.current(gen)) return;
    gen.pendingReads -= 1;
    if (gen.pendingReads > 0) return;
    gen.complete = true;
    // The whole tree has answered: publish all of it, and drop what the previous generation had that this one does not.
    for (const name of gen.services.keys()) this.dirty.add(name);
    for (const name of this.published) if (!gen.services.has(name)) this.dirty.add(name);
    this.flush();
    if (!this.syncedOnce) {
      this.syncedOnce = true;
      this.options.log.info({ services: gen.services.size }, 'first full zookeeper sync');
      this.options.sink.synced();
    }
  }

  private listServices(client: zookeeper.Client, gen: Generation): void {
    const base = this.options.basePath;
    const watcher = () => {
      if (this.current(gen)) this.listServices(client, gen);
    };
    this.begin(gen);
    client.getChildren(base, watcher, (err, children) => {
      if (!this.current(gen)) return;
      if (err) {
        if (isNoNode(err)) {
          // No service has registered yet: wait for the base path to appear.
          client.exists(base, watcher, () => undefined);
          this.setServices(client, gen, []);
        } else {
          // Unreadable (NO_AUTH, say): nothing is concluded from it. The last view stays, the
          // reason shows, and the list is read again in a second.
          this.options.log.warn({ path: base, err: messageOf(err) }, 'zookeeper read failed');
          this.options.sink.trouble(`reading ${base} failed: ${messageOf(err)}`);
          // Before the base path is read nothing else of the generation is in flight, so this
          // read's pending count moves to its retry: the generation completes only once it is read.
          if (!gen.complete) gen.pendingReads -= 1;
          setTimeout(() => {
            if (this.current(gen)) this.listServices(client, gen);
          }, RETRY_MS).unref();
          return;
        }
        this.end(gen);
        return;
      }
      this.setServices(client, gen, children);
      this.end(gen);
    });
  }

  private setServices(client: zookeeper.Client, gen: Generation, children: readonly string[]): void {
    const { maxServices } = this.options.limits;
    const names = new Map<string, string>();
    const refusedNames: string[] = [];
    for (const node of children) {
      const name = meshServiceName(node);
      if (name === undefined) refusedNames.push(node);
      else if (names.size < maxServices) names.set(name, node);
    }
    this.options.sink.refuse('(base path)', [
      ...refusedNames.map((n) => `${this.options.basePath}/${n}: not a service name (lower-case letters, digits, "-", at most 63)`),
      ...(children.length - refusedNames.length > maxServices ? [`${children.length - refusedNames.length} services, past the limit of ${maxServices}; the rest are not read`] : []),
    ]);
    for (const [name, node] of names) {
      if (gen.services.has(name)) continue;
      const watch: ServiceWatch = { node, entries: new Map(), problem: undefined, pending: 0, listed: false };
      gen.services.set(name, watch);
      this.listInstances(client, gen, name, watch);
    }
    for (const name of [...gen.services.keys()]) {
      if (names.has(name)) continue;
      gen.services.delete(name);
      this.changed(gen, name);
    }
  }

  private listInstances(client: zookeeper.Client, gen: Generation, name: string, watch: ServiceWatch): void {
    const path = `${this.options.basePath}/${watch.node}`;
    const watcher = () => {
      if (this.current(gen) && gen.services.get(name) === watch) this.listInstances(client, gen, name, watch);
    };
    this.begin(gen);
    client.getChildren(path, watcher, (err, children) => {
      if (!this.current(gen) || gen.services.get(name) !== watch) return this.end(gen);
      if (err && !isNoNode(err)) {
        // Not readable (NO_AUTH, say): the instances read before stay, and the reason shows.
        this.options.log.warn({ path, err: messageOf(err) }, 'zookeeper read failed');
        watch.problem = `${path}: cannot list its instances: ${messageOf(err)}`;
        watch.listed = true;
        this.changed(gen, name);
        return this.end(gen);
      }
      const listed = err ? [] : children;
      const { maxInstancesPerService } = this.options.limits;
      const kept = new Set(listed.slice(0, maxInstancesPerService));
      watch.problem = listed.length > maxInstancesPerService ? `${path}: ${listed.length} instances, past the limit of ${maxInstancesPerService}; the rest are not read` : undefined;
      for (const id of [...watch.entries.keys()]) if (!kept.has(id)) watch.entries.delete(id);
      watch.listed = true;
      for (const id of kept) if (!watch.entries.has(id)) this.readInstance(client, gen, name, watch, id);
      this.changed(gen, name);
      this.end(gen);
    });
  }

  private readInstance(client: zookeeper.Client, gen: Generation, name: string, watch: ServiceWatch, id: string): void {
    const path = `${this.options.basePath}/${watch.node}/${id}`;
    const watcher = (event: zookeeper.Event) => {
      if (!this.current(gen) || gen.services.get(name) !== watch) return;
      // A deleted node leaves with its parent's children watch; only a changed one is read again.
      if (event.getType() === zookeeper.Event.NODE_DATA_CHANGED) this.readInstance(client, gen, name, watch, id);
    };
    watch.entries.set(id, watch.entries.get(id) ?? { ok: false, field: path, reason: 'not read yet' });
    watch.pending += 1;
    this.begin(gen);
    client.getData(path, watcher, (err, data) => {
      watch.pending -= 1;
      if (!this.current(gen) || gen.services.get(name) !== watch || !watch.entries.has(id)) return this.end(gen);
      if (err) {
        if (isNoNode(err)) watch.entries.delete(id);
        else {
          this.options.log.warn({ path, err: messageOf(err) }, 'zookeeper read failed');
          watch.entries.set(id, { ok: false, field: path, reason: messageOf(err) });
        }
      } else if (data && data.length > this.options.limits.maxEntryBytes) {
        watch.entries.set(id, { ok: false, field: path, reason: `${data.length} bytes, past the limit of ${this.options.limits.maxEntryBytes}` });
      } else watch.entries.set(id, curatorInstance(data ?? undefined, path));
      this.changed(gen, name);
      this.end(gen);
    });
  }

  /** A service's view changed: publish it once the initial read is done (batched per tick). */
  private changed(gen: Generation, name: string): void {
    if (!gen.complete) return;
    this.dirty.add(name);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const gen = this.generation;
    if (!gen || !gen.complete) return;
    const { sink } = this.options;
    for (const name of this.dirty) {
      const watch = gen.services.get(name);
      if (!watch) {
        // Its refusals go with it (the merge clears them).
        if (this.published.delete(name)) sink.removeService(name);
        continue;
      }
      // A service listed but with instance reads still out waits for them (its next change publishes it).
      if (!watch.listed || watch.pending > 0) continue;
      const instances: Instance[] = [];
      const refusals: string[] = watch.problem ? [watch.problem] : [];
      for (const entry of watch.entries.values()) {
        if (entry.ok) instances.push(entry.value);
        else refusals.push(describeRefusal(entry));
      }
      sink.refuse(name, refusals);
      sink.setInstances(name, instances);
      this.published.add(name);
    }
    this.dirty.clear();
  }
}
