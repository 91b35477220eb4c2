// Holds the current mesh and publishes a new immutable MeshState on every real change.
//
// Sources tell the store what they see (a service's instances, a service gone, the first full
// sync done); the store validates service settings, keeps the last good ones when new ones are
// refused, and remembers a vanished service for a while with no instances, so that its route
// answers 503 "no healthy upstream" during a full redeploy instead of 404.
import { describeRefusal } from '../../shared/validate/result.js';
import type { ConfigEntries, DescriptorSink, Instance, LoginProvider, LoginSink, MeshState, Problem, SecretValue, Service, ServiceDescriptor, ServiceSettings } from './mesh.js';
import { EMPTY_MESH, NO_ENTRIES } from './mesh.js';
import { DEFAULT_SETTINGS_DEFAULTS, serviceSettings, type SettingsDefaults } from './service-settings.js';

export interface MeshStoreOptions {
  /** How long a service whose instances are all gone keeps its route (ms). */
  readonly retainVanishedMs: number;
  readonly settingsDefaults?: SettingsDefaults;
  readonly now?: () => Date;
}

interface ServiceRecord {
  /** Absent while the service has never had valid settings: it is then not routed. */
  readonly service: Service | undefined;
  readonly problem: Problem | undefined;
  readonly fingerprint: string;
}

export type MeshListener = (state: MeshState) => void;

const loginProviderSubject = (issuer: string): string => `login-provider/${issuer}`;

export class MeshStore implements DescriptorSink, LoginSink {
  private readonly records = new Map<string, ServiceRecord>();
  private readonly expiry = new Map<string, NodeJS.Timeout>();
  private readonly listeners = new Set<MeshListener>();
  private current: MeshState = EMPTY_MESH;
  private entries: ConfigEntries = NO_ENTRIES;
  private entryProblems: readonly Problem[] = [];
  /**
   * What the sources themselves report, by subject: a registry down, entries a registry answered
   * that were refused, secrets that could not be read, an OpenID provider's failed discovery.
   */
  private readonly sourceProblems = new Map<string, Problem>();
  private descriptors: ReadonlyMap<string, ServiceDescriptor> = new Map();
  /** Why a service's newest descriptor was refused (its last good one, if any, stays in force). */
  private readonly descriptorProblems = new Map<string, Problem>();
  private secrets: ReadonlyMap<string, SecretValue> = new Map();
  private loginProviders: ReadonlyMap<string, LoginProvider> = new Map();
  /** Sources that have not delivered a complete first view yet. */
  private readonly pendingSources = new Set<string>(['catalog']);
  private syncedOnce = false;

  constructor(private readonly options: MeshStoreOptions) {}

  get state(): MeshState {
    return this.current;
  }

  /** True once every source has delivered a complete first view. */
  get synced(): boolean {
    return this.syncedOnce;
  }

  onChange(listener: MeshListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The instances a service has now (possibly none). Its settings are read from `settingsMeta`
   * (the registry merge passes the meta of the registry that decides), else from the first
   * instance by id.
   */
  setInstances(name: string, instances: readonly Instance[], settingsMeta?: Readonly<Record<string, string>>): void {
    this.cancelExpiry(name);
    const sorted = [...instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const previous = this.records.get(name);
    settingsMeta ??= sorted[0]?.meta;
    let settings: ServiceSettings | undefined = previous?.service?.settings;
    let problem: Problem | undefined = previous?.problem;
    if (settingsMeta || !settings) {
      const result = serviceSettings(name, settingsMeta ?? {}, this.options.settingsDefaults ?? DEFAULT_SETTINGS_DEFAULTS);
      if (result.ok) {
        settings = result.value;
        problem = undefined;
      } else {
        // Keep the last good settings; without any, the service is not routed at all.
        problem =
          problem?.reason === describeRefusal(result)
            ? problem
            : { subject: `service/${name}`, reason: describeRefusal(result), since: this.now().toISOString() };
      }
    }
    const fingerprint = JSON.stringify([settings, sorted, problem?.reason]);
    if (previous && previous.fingerprint === fingerprint) return;
    const service = settings ? Object.freeze({ name, settings, instances: Object.freeze(sorted) }) : undefined;
    this.records.set(name, { service, problem, fingerprint });
    this.publish();
  }

  /** The service left the catalog: keep its route (no instances) until retention ends. */
  removeService(name: string): void {
    if (!this.records.has(name) || this.expiry.has(name)) return;
    this.setInstances(name, []);
    const timer = setTimeout(() => {
      this.expiry.delete(name);
      this.records.delete(name);
      this.forgetDescriptor(name); // a service that comes back is asked again
      this.publish();
    }, this.options.retainVanishedMs);
    timer.unref();
    this.expiry.set(name, timer);
  }

  /** Services the store knows, including remembered ones. */
  knownServices(): string[] {
    return [...this.records.keys()];
  }

  /** The config entries in force, and the refused ones. */
  setConfigEntries(entries: ConfigEntries, problems: readonly Problem[]): void {
    this.entries = entries;
    this.entryProblems = problems;
    this.publish();
  }

  /** A source's trouble under a subject (`registry/eureka`, …), or its end (reason undefined). */
  setSourceProblem(subject: string, reason: string | undefined): void {
    if (this.noteSourceProblem(subject, reason)) this.publish();
  }

  /** setSourceProblem without publishing: whether anything changed. */
  private noteSourceProblem(subject: string, reason: string | undefined): boolean {
    const had = this.sourceProblems.get(subject);
    if (reason === undefined) return this.sourceProblems.delete(subject);
    if (had?.reason === reason) return false;
    this.sourceProblems.set(subject, { subject, reason, since: this.now().toISOString() });
    return true;
  }

  /** A transcoded service's descriptor, now in force. */
  setDescriptor(descriptor: ServiceDescriptor): void {
    const had = this.descriptorProblems.delete(descriptor.service);
    if (this.descriptors.get(descriptor.service)?.digest === descriptor.digest && !had) return;
    const next = new Map(this.descriptors).set(descriptor.service, descriptor);
    this.descriptors = new Map([...next].sort(([a], [b]) => (a < b ? -1 : 1)));
    this.publish();
  }

  /** A service's newest descriptor was refused, or could not be had: the last good one stays. */
  refuseDescriptor(service: string, reason: string): void {
    if (this.descriptorProblems.get(service)?.reason === reason) return;
    this.descriptorProblems.set(service, { subject: `descriptor/${service}`, reason, since: this.now().toISOString() });
    this.publish();
  }

  /** The service is no longer transcoded (or gone): its descriptor and problem go. */
  dropDescriptor(service: string): void {
    if (this.forgetDescriptor(service)) this.publish();
  }

  /** Whether the service had a descriptor or a refusal, now both gone. */
  private forgetDescriptor(service: string): boolean {
    const had = this.descriptorProblems.delete(service);
    if (!this.descriptors.has(service)) return had;
    const next = new Map(this.descriptors);
    next.delete(service);
    this.descriptors = next;
    return true;
  }

  /** The secrets directory as it is now; unchanged values keep the same objects (resolve reuses what read them). */
  setSecrets(secrets: ReadonlyMap<string, SecretValue>, problem: string | undefined): void {
    const next = new Map<string, SecretValue>();
    let changed = secrets.size !== this.secrets.size;
    for (const [name, value] of [...secrets].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const had = this.secrets.get(name);
      if (value.equals(had)) next.set(name, had!);
      else {
        next.set(name, value);
        changed = true;
      }
    }
    const problemChanged = this.noteSourceProblem('secrets', problem);
    if (!changed && !problemChanged) return;
    if (changed) this.secrets = next;
    this.publish();
  }

  setLoginProvider(provider: LoginProvider): void {
    const had = this.noteSourceProblem(loginProviderSubject(provider.issuer), undefined);
    const old = this.loginProviders.get(provider.issuer);
    if (old && JSON.stringify({ ...old, fetchedAt: '' }) === JSON.stringify({ ...provider, fetchedAt: '' })) {
      if (had) this.publish();
      return;
    }
    this.loginProviders = new Map(this.loginProviders).set(provider.issuer, provider);
    this.publish();
  }

  refuseLoginProvider(issuer: string, reason: string): void {
    this.setSourceProblem(loginProviderSubject(issuer), reason);
  }

  dropLoginProvider(issuer: string): void {
    const had = this.noteSourceProblem(loginProviderSubject(issuer), undefined);
    if (!this.loginProviders.has(issuer) && !had) return;
    const next = new Map(this.loginProviders);
    next.delete(issuer);
    this.loginProviders = next;
    this.publish();
  }

  /** A source that must answer once before the mesh counts as synced (e.g. config entries). */
  expectSource(name: string): void {
    if (!this.syncedOnce) this.pendingSources.add(name);
  }

  /** A source has delivered its complete first view; the mesh is synced when all have. */
  markSynced(source = 'catalog'): void {
    if (this.syncedOnce) return;
    this.pendingSources.delete(source);
    if (this.pendingSources.size > 0) return;
    this.syncedOnce = true;
    this.publish();
  }

  close(): void {
    for (const t of this.expiry.values()) clearTimeout(t);
    this.expiry.clear();
    this.listeners.clear();
  }

  private cancelExpiry(name: string): void {
    const t = this.expiry.get(name);
    if (t) {
      clearTimeout(t);
      this.expiry.delete(name);
    }
  }

  private now(): Date {
    return this.options.now ? this.options.now() : new Date();
  }

  private publish(): void {
    const names = [...this.records.keys()].sort();
    const services = new Map<string, Service>();
    const problems: Problem[] = [];
    for (const name of names) {
      const rec = this.records.get(name)!;
      if (rec.service) services.set(name, rec.service);
      if (rec.problem) problems.push(rec.problem);
    }
    problems.push(...this.entryProblems, ...this.descriptorProblems.values(), ...this.sourceProblems.values());
    this.current = Object.freeze({
      revision: this.current.revision + 1,
      services,
      entries: this.entries,
      descriptors: this.descriptors,
      secrets: this.secrets,
      loginProviders: this.loginProviders,
      problems: Object.freeze(problems),
    });
    if (!this.syncedOnce) return;
    for (const l of this.listeners) l(this.current);
  }
}

