// When each wanted service is asked for its descriptors over gRPC server reflection: at once when
// it is first wanted or its healthy instances change, every `refreshMs` after a success, after a
// failure with a back-off (doubling up to a minute) — one fetch per service at a time,
// `concurrency` in all. The clock is injected; idle() resolves once nothing runs or waits to
// run now (what is due later waits for the clock).
import type { Scheduler } from './scheduler.js';

export interface ReflectionSchedulerOptions {
  readonly concurrency: number;
  readonly scheduler: Scheduler;
  /** Ask the service; resolves to how long until it should be asked again (undefined: not until it changes). */
  readonly fetch: (service: string) => Promise<number | undefined>;
  /** A fetch that threw (a bug, not a refusal): logged by the caller; the service is asked again when it changes. */
  readonly onError: (service: string, err: Error) => void;
}

interface Entry {
  timer?: unknown;
  running: boolean;
  /** Asked to run again while it ran. */
  again: boolean;
}

export class ReflectionScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly queue: string[] = [];
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly o: ReflectionSchedulerOptions) {}

  /** Ask `service` after `delayMs` (0: now, or as soon as its running fetch ends). */
  schedule(service: string, delayMs: number): void {
    if (this.stopped) return;
    const e = this.entries.get(service) ?? { running: false, again: false };
    this.entries.set(service, e);
    if (e.timer !== undefined) this.o.scheduler.clearTimeout(e.timer);
    e.timer = undefined;
    if (delayMs > 0) {
      e.timer = this.o.scheduler.setTimeout(() => {
        e.timer = undefined;
        this.enqueue(service, e);
      }, delayMs);
      return;
    }
    this.enqueue(service, e);
  }

  /** Never ask `service` again (until scheduled anew). */
  cancel(service: string): void {
    const e = this.entries.get(service);
    if (!e) return;
    if (e.timer !== undefined) this.o.scheduler.clearTimeout(e.timer);
    this.entries.delete(service);
    const i = this.queue.indexOf(service);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /** Resolves once no fetch runs and none is due now. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }

  stop(): void {
    this.stopped = true;
    for (const service of [...this.entries.keys()]) this.cancel(service);
  }

  private enqueue(service: string, e: Entry): void {
    if (e.running) {
      e.again = true;
      return;
    }
    if (!this.queue.includes(service)) this.queue.push(service);
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.o.concurrency && this.queue.length) {
      const service = this.queue.shift()!;
      const e = this.entries.get(service);
      if (!e || e.running) continue;
      e.running = true;
      e.again = false;
      const run: Promise<void> = this.o
        .fetch(service)
        .then((nextMs) => {
          if (this.entries.get(service) === e && nextMs !== undefined && !e.again) this.schedule(service, nextMs);
        })
        .catch((err: Error) => this.o.onError(service, err))
        .finally(() => {
          e.running = false;
          this.running.delete(run);
          if (this.entries.get(service) === e && e.again) this.enqueue(service, e);
          this.pump();
        });
      this.running.add(run);
    }
  }
}
