// A Consul blocking query kept running: ask with the last index and a wait time, hand every
// changed answer to the listener, and retry failures with jittered back-off. Knows nothing of
// what is queried: `fetch` does one HTTP call.
import { nextIndex, type IndexStep } from './index-rules.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';

export interface FetchResult<T> {
  readonly index: bigint | undefined;
  readonly body: T;
}

export type BlockingFetch<T> = (index: bigint, waitMs: number, signal: AbortSignal) => Promise<FetchResult<T>>;

export interface BlockingQueryOptions<T> {
  readonly name: string;
  readonly fetch: BlockingFetch<T>;
  readonly onData: (body: T, step: IndexStep) => void;
  readonly onError?: (err: Error, failures: number) => void;
  /** After every answer, changed or not: the source is reachable again. */
  readonly onAnswer?: () => void;
  /** Called after the first successful answer (even if empty). */
  readonly onFirstAnswer?: () => void;
  readonly waitMs?: number;
  readonly backoff?: BackoffPolicy;
}

export class BlockingQuery<T> {
  private readonly abort = new AbortController();
  private index = 0n;
  private failures = 0;
  private answered = false;
  private stopped = false;
  private sleepTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: BlockingQueryOptions<T>) {}

  get name(): string {
    return this.options.name;
  }

  start(): this {
    void this.loop();
    return this;
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wake?.();
  }

  private async loop(): Promise<void> {
    const waitMs = this.options.waitMs ?? 30_000;
    while (!this.stopped) {
      try {
        const result = await this.options.fetch(this.index, waitMs, this.abort.signal);
        if (this.stopped) return;
        this.failures = 0;
        this.options.onAnswer?.();
        const step = nextIndex(this.index, result.index);
        this.index = step.next;
        if (step.changed || !this.answered) this.options.onData(result.body, step);
        if (!this.answered) {
          this.answered = true;
          this.options.onFirstAnswer?.();
        }
      } catch (err) {
        if (this.stopped) return;
        this.failures += 1;
        this.options.onError?.(err as Error, this.failures);
        await this.sleep(backoffDelay(this.failures, this.options.backoff ?? DEFAULT_BACKOFF));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    });
  }
}
