// .proto text waiting for buf: the newest text per service, one compile at a time (buf is a
// process; a burst of KV changes must not start one per key). A text replaced while it compiled
// is compiled again in its own turn; what the caller no longer wants (`stillWanted`) is dropped.
import { refused, type Checked } from '../../../shared/validate/result.js';
import type { ServiceDescriptor } from '../../model/mesh.js';
import { compileProto } from '../../transcoding/proto-compiler.js';
import { serviceDescriptor } from '../../transcoding/service-descriptor.js';
import type { ProtoText } from './kv-descriptors.js';

export interface CompileQueueOptions {
  /** Whether this text is still the one to use for the service (a newer one, or none, since). */
  readonly stillWanted: (service: string, item: ProtoText) => boolean;
  readonly done: (service: string, result: Checked<ServiceDescriptor>) => void;
  readonly compile?: typeof compileProto;
}

export class CompileQueue {
  private readonly waiting = new Map<string, ProtoText>();
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: CompileQueueOptions) {}

  put(service: string, item: ProtoText): void {
    this.waiting.delete(service);
    this.waiting.set(service, item);
    this.next();
  }

  /** Resolves once nothing waits or compiles. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void {
    this.stopped = true;
    this.waiting.clear();
  }

  private next(): void {
    if (this.running || this.stopped) return;
    const first = this.waiting.entries().next();
    if (first.done) return;
    const [service, item] = first.value;
    this.waiting.delete(service);
    this.running = this.compileOne(service, item).finally(() => {
      this.running = undefined;
      this.next();
    });
  }

  private async compileOne(service: string, item: ProtoText): Promise<void> {
    const files = await (this.o.compile ?? compileProto)(item.text, `${service}.proto`).catch((err: Error) => refused<Uint8Array[]>('', `buf could not be run: ${err.message}`));
    if (this.stopped || !this.o.stillWanted(service, item)) return;
    const d = files.ok ? serviceDescriptor(files.value, undefined, { service, source: `${item.source}, compiled by buf`, loadedAt: new Date().toISOString() }) : refused<ServiceDescriptor>(files.field, files.reason);
    this.o.done(service, d);
  }
}
