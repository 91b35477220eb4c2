// Reads each pool endpoint's load from its /metrics at a short interval (vLLM serves them on its
// API port): one read in flight per endpoint, each bounded in time and bytes, a read that fails
// or says nothing leaves the endpoint without load (the picker then does not count on it). The
// endpoints are the pools' (set on each change of the view), at most `maxEndpoints` of them.
import { fetchText } from '../../shared/fetch-text.js';
import { parseServerLoad, type ServerLoad } from './server-load.js';

export interface ScraperOptions {
  readonly intervalMs: number;
  readonly maxEndpoints: number;
  /** A /metrics text larger than this is not read. */
  readonly maxBytes: number;
  readonly path: string;
}

interface Target {
  load: ServerLoad | undefined;
  readAt: number;
  /** Not read before this: an endpoint whose reads fail is read less often (up to every 5 s). */
  nextAt: number;
  sentSince: number;
  /** Calls the gateway sent it that ended since its metrics were read: each freed a place. */
  doneSince: number;
  busy: boolean;
  failures: number;
  /** Its batch size as it showed it: the most calls it ran while others waited there (a full batch). */
  capacity: number | undefined;
}

export class LoadScraper {
  private readonly targets = new Map<string, Target>();
  private readonly timer: NodeJS.Timeout;
  scrapes = 0;
  failures = 0;

  constructor(
    private readonly o: ScraperOptions,
    private readonly now: () => number = Date.now,
    /** After each read that brought a load (the queued calls may have room now). */
    private readonly onRead: () => void = () => undefined,
  ) {
    this.timer = setInterval(() => this.tick(), o.intervalMs);
    this.timer.unref();
  }

  /** The endpoints to read: new ones are added, ones no pool has any more are dropped. */
  setEndpoints(addresses: Iterable<string>): void {
    const keep = new Set<string>();
    for (const a of addresses) {
      if (keep.size >= this.o.maxEndpoints) break;
      keep.add(a);
      if (!this.targets.has(a)) this.targets.set(a, { load: undefined, readAt: 0, nextAt: 0, sentSince: 0, doneSince: 0, busy: false, failures: 0, capacity: undefined });
    }
    for (const a of this.targets.keys()) if (!keep.has(a)) this.targets.delete(a);
  }

  /** Its load, when read within three intervals; the calls sent since, less those that ended since; its batch size once shown. */
  loadOf(address: string): { load: ServerLoad | undefined; sentSince: number; capacity: number | undefined } {
    const t = this.targets.get(address);
    if (!t) return { load: undefined, sentSince: 0, capacity: undefined };
    const fresh = t.load && this.now() - t.readAt <= 3 * this.o.intervalMs;
    return { load: fresh ? t.load : undefined, sentSince: t.sentSince - t.doneSince, capacity: t.capacity };
  }

  /** A call the gateway sent it ended: a place there is free before the next read says so. */
  ended(address: string): void {
    const t = this.targets.get(address);
    if (t) t.doneSince += 1;
  }

  /** A call went to it: it counts as waiting there until the next read. */
  sent(address: string): void {
    const t = this.targets.get(address);
    if (t) t.sentSince += 1;
  }

  get endpoints(): number {
    return this.targets.size;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = this.now();
    for (const [address, t] of this.targets) if (!t.busy && now >= t.nextAt) void this.read(address, t);
  }

  private async read(address: string, t: Target): Promise<void> {
    t.busy = true;
    const sentBefore = t.sentSince;
    const doneBefore = t.doneSince;
    const got = await fetchText(`http://${address}${this.o.path}`, this.o.intervalMs * 2, this.o.maxBytes);
    const load = got.ok ? parseServerLoad(got.text) : undefined;
    t.busy = false;
    this.scrapes += 1;
    if (!load) {
      t.failures += 1;
      this.failures += 1;
      t.load = undefined;
      t.nextAt = this.now() + Math.min(5_000, this.o.intervalMs * 2 ** Math.min(t.failures, 10));
      return;
    }
    t.failures = 0;
    t.load = load;
    // A server runs calls up to its batch size and queues the rest: a read with calls waiting shows it whole.
    if (load.waiting > 0 && load.running > 0) t.capacity = Math.max(t.capacity ?? 0, load.running);
    t.readAt = this.now();
    // What was sent while the read was out may not be in it yet.
    t.sentSince = Math.max(0, t.sentSince - sentBefore);
    t.doneSince = Math.max(0, t.doneSince - doneBefore);
    this.onRead();
  }
}
