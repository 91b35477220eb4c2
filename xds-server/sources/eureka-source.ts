// Polls a Eureka server as Netflix's DiscoveryClient does and tells the registry merge what it
// holds: one full fetch (`/apps`), then the delta (`/apps/delta`) every interval, applied to the
// last registry and checked against the server's reconcile hash; when they disagree, or an
// answer cannot be read, the next fetch is full. Eureka has no watch; the interval (2 s by
// default, `--eureka-interval`) bounds how late a change is seen. A failed or garbled fetch
// keeps the last view and shows as the registry's trouble.
import type { Logger } from 'pino';
import { fetchText } from '../../shared/fetch-text.js';
import { describeRefusal } from '../../shared/validate/result.js';
import { applyDelta, parseEurekaAnswer, registryOf, servicesOf, type EurekaInstance } from './eureka-apps.js';
import type { RegistryLimits } from './registry-limits.js';
import type { RegistrySink } from './registry-merge.js';

export interface EurekaSourceOptions {
  /** The servers' REST bases, comma-separated, e.g. http://user:secret@127.0.0.1:8761/eureka (credentials: basic auth). */
  readonly url: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly limits: RegistryLimits;
  readonly sink: RegistrySink;
  readonly log: Logger;
}

/** The URL without its credentials, and the basic-auth header they make. */
export function eurekaEndpoint(raw: string): { base: string; headers: Record<string, string> } {
  const url = new URL(raw);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (url.username || url.password) {
    headers['authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  return { base: url.toString().replace(/\/+$/, ''), headers };
}

export class EurekaSource {
  private registry: Map<string, EurekaInstance> | undefined;
  private needFull = true;
  /** What the merge holds from this source: a fingerprint per service. */
  private readonly published = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private syncedOnce = false;
  private readonly endpoints: ReadonlyArray<{ base: string; headers: Record<string, string> }>;
  /** The server read now: the last that answered. */
  private current = 0;

  constructor(private readonly options: EurekaSourceOptions) {
    this.endpoints = options.url
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean)
      .map(eurekaEndpoint);
  }

  start(): void {
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      // A delta that disagrees with the server's hash is followed at once by a full fetch.
      if (!(await this.poll())) await this.poll();
    } catch (err) {
      this.options.log.error({ err }, 'eureka poll failed');
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.options.intervalMs);
  }

  /** One fetch; false when a delta disagreed with the server's hash (the next one is full). */
  private async poll(): Promise<boolean> {
    const { sink, log, timeoutMs, limits } = this.options;
    let full = this.needFull || !this.registry;
    let url = '';
    let got: Awaited<ReturnType<typeof fetchText>> | undefined;
    const failures: string[] = [];
    // The current server first, then the others in turn; a switch reads the new one in full.
    for (let tried = 0; tried < this.endpoints.length; tried++) {
      const endpoint = this.endpoints[this.current]!;
      url = `${endpoint.base}/apps${full ? '' : '/delta'}`;
      got = await fetchText(url, timeoutMs, limits.maxFetchBytes, endpoint.headers);
      if (this.stopped) return true;
      if (got.ok) break;
      failures.push(got.reason);
      this.current = (this.current + 1) % this.endpoints.length;
      full = true;
      this.needFull = true;
    }
    if (!got?.ok) {
      sink.trouble(failures.join('; '));
      return true;
    }
    const answer = parseEurekaAnswer(got.text);
    if (!answer.ok) {
      // Garbage is refused whole: the last good registry stays, and the next fetch is full.
      this.needFull = true;
      sink.trouble(`${url} answered what is not a Eureka registry: ${describeRefusal(answer)}`);
      return true;
    }
    if (full) {
      this.registry = registryOf(answer.value);
      this.needFull = false;
    } else {
      const next = applyDelta(this.registry!, answer.value);
      if (!next.consistent) {
        log.info({ hash: answer.value.hashcode }, 'eureka delta disagrees with the registry hash; fetching in full');
        this.needFull = true;
        return false;
      }
      this.registry = next.registry;
      if (!next.changed) {
        // Nothing read changed: the registry (thousands of instances, say) is not regrouped every poll.
        sink.trouble(undefined);
        return true;
      }
    }
    sink.trouble(undefined);
    this.publish(this.registry);
    if (!this.syncedOnce) {
      this.syncedOnce = true;
      log.info({ services: this.published.size }, 'first full eureka sync');
      sink.synced();
    }
    return true;
  }

  /** Tell the merge about every service whose view changed, and every one that is gone. */
  private publish(registry: ReadonlyMap<string, EurekaInstance>): void {
    const { sink, limits } = this.options;
    const { services, refusals } = servicesOf(registry, limits);
    sink.refuse('(apps)', refusals);
    for (const [name, s] of services) {
      const fingerprint = JSON.stringify(s);
      if (this.published.get(name) === fingerprint) continue;
      this.published.set(name, fingerprint);
      sink.refuse(name, s.refusals);
      sink.setInstances(name, s.instances);
    }
    for (const name of [...this.published.keys()]) {
      if (services.has(name)) continue;
      this.published.delete(name);
      sink.removeService(name);
    }
  }
}
