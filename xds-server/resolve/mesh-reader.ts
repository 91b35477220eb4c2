// How resolution reads the mesh: every read goes through a MeshReader, which remembers what each
// resolved piece read (a service, one config entry, a descriptor, or a whole collection when a
// piece looks at all of them) and which other pieces it used. A piece resolved before is reused —
// the same object — while every input it read is still the same object and every piece it used
// is still valid (each checked once per resolve, however many pieces use it); the mesh store and
// the config-entry store keep what did not change as the same objects, so only what read a
// changed input is resolved again.
// This is meshgate's one change detection: the controller compares the resolved views a role
// reads by identity, and translation caches by identity of resolved objects.
import type { BrowserLoginEntry, ServiceDefaultsEntry, ServiceResolverEntry, ServiceRouterEntry, ServiceSplitterEntry, ModelRouteEntry } from '../model/config-entries/schema.js';
import type { LoginProvider, MeshState, SecretValue, Service, ServiceDescriptor } from '../model/mesh.js';

type Source = 'service' | 'defaults' | 'router' | 'splitter' | 'resolver' | 'descriptor' | 'services' | 'model-routes' | 'descriptors' | 'login' | 'logins' | 'secret' | 'login-provider';

/** One read: where, which name, and the object it gave. */
type Read = readonly [source: Source, name: string, value: unknown];

interface Cached {
  /** What it read itself. */
  readonly reads: readonly Read[];
  /** The pieces it used: it is valid while they are. */
  readonly children: readonly Cached[];
  readonly value: unknown;
  /** The resolve it was last used in: what no resolve uses is let go. */
  used: number;
  /** The resolve its validity was last checked in, and the answer (each piece is checked once per resolve, however many use it). */
  checked: number;
  valid: boolean;
}

interface Frame {
  readonly reads: Read[];
  readonly children: Set<Cached>;
}

export interface MeshReader {
  service(name: string): Service | undefined;
  /** Every service, sorted by name (a read of the whole collection). */
  services(): ReadonlyMap<string, Service>;
  defaults(name: string): ServiceDefaultsEntry | undefined;
  router(name: string): ServiceRouterEntry | undefined;
  splitter(name: string): ServiceSplitterEntry | undefined;
  resolver(name: string): ServiceResolverEntry | undefined;
  /** Every model-route entry, by model name (a read of the whole collection). */
  modelRoutes(): ReadonlyMap<string, ModelRouteEntry>;
  descriptor(name: string): ServiceDescriptor | undefined;
  /** Every descriptor in force (a read of the whole collection). */
  descriptors(): ReadonlyMap<string, ServiceDescriptor>;
  login(name: string): BrowserLoginEntry | undefined;
  /** Every browser-login entry (a read of the whole collection). */
  logins(): ReadonlyMap<string, BrowserLoginEntry>;
  secret(name: string): SecretValue | undefined;
  loginProvider(issuer: string): LoginProvider | undefined;
  /**
   * `compute`'s value, reused while everything it read is unchanged. `kind` and `name` name the
   * piece (two parts, so that the hot pieces — one per service — need no key built per resolve).
   */
  memo<T>(kind: string, name: string, compute: () => T): T;
}

function lookup(state: MeshState, source: Source, name: string): unknown {
  switch (source) {
    case 'service':
      return state.services.get(name);
    case 'defaults':
      return state.entries.defaults.get(name);
    case 'router':
      return state.entries.routers.get(name);
    case 'splitter':
      return state.entries.splitters.get(name);
    case 'resolver':
      return state.entries.resolvers.get(name);
    case 'descriptor':
      return state.descriptors.get(name);
    case 'services':
      return state.services;
    case 'model-routes':
      return state.entries.modelRoutes;
    case 'descriptors':
      return state.descriptors;
    case 'login':
      return state.entries.logins.get(name);
    case 'logins':
      return state.entries.logins;
    case 'secret':
      return state.secrets.get(name);
    case 'login-provider':
      return state.loginProviders.get(name);
  }
}

/** A MeshReader over one state after another, keeping what it resolved between them. */
export class ResolveMemo implements MeshReader {
  private state: MeshState | undefined;
  private readonly cache = new Map<string, Map<string, Cached>>();
  /** What the pieces being computed read and use, innermost last. */
  private readonly recording: Frame[] = [];
  private generation = 0;

  /** `keepFor`: how many resolves a piece no resolve used is kept for (1: only the last's). */
  constructor(private readonly keepFor = 1) {}

  get size(): number {
    let n = 0;
    for (const byName of this.cache.values()) n += byName.size;
    return n;
  }

  /** Read `state` from now on. */
  begin(state: MeshState): void {
    this.state = state;
    this.generation += 1;
  }

  /** Let go of every piece the last `keepFor` resolves did not use (services gone, entries removed). */
  sweep(): void {
    for (const byName of this.cache.values()) for (const [name, c] of byName) if (this.generation - c.used >= this.keepFor) byName.delete(name);
  }

  service(name: string): Service | undefined {
    return this.read('service', name) as Service | undefined;
  }

  services(): ReadonlyMap<string, Service> {
    return this.read('services', '') as ReadonlyMap<string, Service>;
  }

  defaults(name: string): ServiceDefaultsEntry | undefined {
    return this.read('defaults', name) as ServiceDefaultsEntry | undefined;
  }

  router(name: string): ServiceRouterEntry | undefined {
    return this.read('router', name) as ServiceRouterEntry | undefined;
  }

  splitter(name: string): ServiceSplitterEntry | undefined {
    return this.read('splitter', name) as ServiceSplitterEntry | undefined;
  }

  resolver(name: string): ServiceResolverEntry | undefined {
    return this.read('resolver', name) as ServiceResolverEntry | undefined;
  }

  modelRoutes(): ReadonlyMap<string, ModelRouteEntry> {
    return this.read('model-routes', '') as ReadonlyMap<string, ModelRouteEntry>;
  }

  descriptor(name: string): ServiceDescriptor | undefined {
    return this.read('descriptor', name) as ServiceDescriptor | undefined;
  }

  descriptors(): ReadonlyMap<string, ServiceDescriptor> {
    return this.read('descriptors', '') as ReadonlyMap<string, ServiceDescriptor>;
  }

  login(name: string): BrowserLoginEntry | undefined {
    return this.read('login', name) as BrowserLoginEntry | undefined;
  }

  logins(): ReadonlyMap<string, BrowserLoginEntry> {
    return this.read('logins', '') as ReadonlyMap<string, BrowserLoginEntry>;
  }

  secret(name: string): SecretValue | undefined {
    return this.read('secret', name) as SecretValue | undefined;
  }

  loginProvider(issuer: string): LoginProvider | undefined {
    return this.read('login-provider', issuer) as LoginProvider | undefined;
  }

  memo<T>(kind: string, name: string, compute: () => T): T {
    let byName = this.cache.get(kind);
    if (!byName) {
      byName = new Map();
      this.cache.set(kind, byName);
    }
    const hit = byName.get(name);
    if (hit && this.isValid(hit)) {
      hit.used = this.generation;
      this.recording[this.recording.length - 1]?.children.add(hit);
      return hit.value as T;
    }
    const frame: Frame = { reads: [], children: new Set() };
    this.recording.push(frame);
    let value: T;
    try {
      value = compute();
    } finally {
      this.recording.pop();
    }
    const entry: Cached = { reads: frame.reads, children: [...frame.children], value, used: this.generation, checked: this.generation, valid: true };
    byName.set(name, entry);
    this.recording[this.recording.length - 1]?.children.add(entry);
    return value;
  }

  private isValid(c: Cached): boolean {
    if (c.checked === this.generation) return c.valid;
    const state = this.current();
    c.checked = this.generation;
    c.valid = c.reads.every(([source, name, value]) => lookup(state, source, name) === value) && c.children.every((child) => this.isValid(child));
    // A piece still valid is still in use by whoever uses it.
    if (c.valid) c.used = this.generation;
    return c.valid;
  }

  private current(): MeshState {
    if (!this.state) throw new Error('ResolveMemo: begin(state) first');
    return this.state;
  }

  private read(source: Source, name: string): unknown {
    const value = lookup(this.current(), source, name);
    this.recording[this.recording.length - 1]?.reads.push([source, name, value]);
    return value;
  }
}

/** A reader over one state, nothing kept: for a one-off resolve (tests, the CLI). */
export function readerOf(state: MeshState): ResolveMemo {
  const memo = new ResolveMemo();
  memo.begin(state);
  return memo;
}
