// Costly work a flood of one kind must not let crowd out everything else: password hashing
// (Basic) and calls to an identity provider (introspection) run through a pool each.
//
// scrypt runs on libuv's thread pool (four threads by default), where JWT signature checks
// (WebCrypto) run too: 400 bad Basic logins at once once held every thread for seconds, and
// fresh JWTs waited past Envoy's timeout. An identity provider is a shared service with a
// capacity of its own: random tokens must not reach it by the thousand. So:
// - at most `concurrency` jobs run at once (hashes: default 1, three threads stay free for JWTs);
// - waiting jobs are taken in turn per key (the client's address), so one client flooding
//   delays another by at most one job per flooding client;
// - a key may have `perKey` jobs waiting, and all keys `maxQueued`; past either the attempt is
//   refused at once, which costs nothing and says nothing about whether the user exists (a
//   user whose login succeeded recently is remembered and needs no hash at all);
// - a job whose caller gave up (Envoy reset the Check) leaves the queue without running.
import type { CallContext } from '../../shared/grpc/unary-server.js';

export interface FairPoolOptions {
  readonly concurrency: number;
  readonly perKey: number;
  readonly maxQueued: number;
}

export const DEFAULT_KDF_POOL: FairPoolOptions = Object.freeze({ concurrency: 1, perKey: 4, maxQueued: 256 });

export type PoolOutcome<T> = { readonly ran: true; readonly value: T } | { readonly ran: false; readonly why: 'busy' | 'cancelled' };

interface Job {
  readonly run: () => Promise<unknown>;
  readonly settle: (o: PoolOutcome<unknown>) => void;
  readonly fail: (err: unknown) => void;
  readonly call: CallContext | undefined;
}

export class FairPool {
  private running = 0;
  private queued = 0;
  /** Waiting jobs per key; Map order is the round-robin order. */
  private readonly queues = new Map<string, Job[]>();

  constructor(private options: FairPoolOptions = DEFAULT_KDF_POOL) {}

  /** New bounds (from the command line); jobs already waiting keep their places. */
  configure(options: FairPoolOptions): void {
    this.options = options;
  }

  get stats(): { running: number; queued: number } {
    return { running: this.running, queued: this.queued };
  }

  run<T>(key: string, work: () => Promise<T>, call?: CallContext): Promise<PoolOutcome<T>> {
    if (call?.cancelled) return Promise.resolve({ ran: false, why: 'cancelled' });
    const q = this.queues.get(key);
    if (this.running < this.options.concurrency && this.queued === 0) return this.start(work);
    if ((q?.length ?? 0) >= this.options.perKey || this.queued >= this.options.maxQueued) return Promise.resolve({ ran: false, why: 'busy' });
    return new Promise((settle, fail) => {
      const job: Job = { run: work, settle: settle as (o: PoolOutcome<unknown>) => void, fail, call };
      if (q) q.push(job);
      else this.queues.set(key, [job]);
      this.queued += 1;
      if (call) {
        call.onCancel = () => {
          // Out of the queue at once: an abandoned attempt holds no place in it.
          const list = this.queues.get(key);
          const i = list ? list.indexOf(job) : -1;
          if (i >= 0) {
            list!.splice(i, 1);
            this.queued -= 1;
            if (list!.length === 0) this.queues.delete(key);
          }
          settle({ ran: false, why: 'cancelled' });
        };
      }
    });
  }

  private async start<T>(work: () => Promise<T>): Promise<PoolOutcome<T>> {
    this.running += 1;
    try {
      return { ran: true, value: await work() };
    } finally {
      this.running -= 1;
      this.next();
    }
  }

  /** The next waiting job, one key after another. */
  private next(): void {
    while (this.running < this.options.concurrency && this.queued > 0) {
      const [key, q] = this.queues.entries().next().value!;
      const job = q.shift()!;
      this.queued -= 1;
      this.queues.delete(key);
      if (q.length) this.queues.set(key, q); // to the back of the line
      if (job.call) job.call.onCancel = undefined;
      this.start(job.run).then(job.settle, job.fail);
    }
  }
}

/** The process's pool: every policy's Basic users share the same threads. */
export const sharedKdfPool = new FairPool();
