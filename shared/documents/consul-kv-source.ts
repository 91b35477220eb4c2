// Configuration documents from a Consul KV prefix: every key under it (but "folders") is a
// document, versioned by its ModifyIndex, watched with a blocking query.
import { BlockingQuery } from '../consul/blocking-query.js';
import type { ConsulClient, ConsulKvEntry } from '../consul/client.js';
import type { DocumentSink } from './document-sink.js';

export interface ConsulKvSourceOptions {
  readonly client: ConsulClient;
  readonly prefix: string;
  readonly sink: DocumentSink;
  readonly waitMs?: number;
  readonly onError?: (err: Error, failures: number) => void;
  readonly onFirstAnswer?: () => void;
}

export class ConsulKvDocumentSource {
  private query: BlockingQuery<ConsulKvEntry[]> | undefined;
  private readonly versions = new Map<string, number>();

  constructor(private readonly options: ConsulKvSourceOptions) {}

  start(): void {
    const { client, prefix, waitMs } = this.options;
    this.query = new BlockingQuery<ConsulKvEntry[]>({
      name: `kv/${prefix}`,
      fetch: (index, wait, signal) => client.kvPrefix(prefix, index, wait, signal),
      onData: (entries) => this.apply(entries),
      ...(this.options.onError ? { onError: this.options.onError } : {}),
      ...(this.options.onFirstAnswer ? { onFirstAnswer: this.options.onFirstAnswer } : {}),
      ...(waitMs !== undefined ? { waitMs } : {}),
    }).start();
  }

  stop(): void {
    this.query?.stop();
  }

  private apply(entries: readonly ConsulKvEntry[]): void {
    const present = new Set<string>();
    for (const e of entries) {
      if (e.Key.endsWith('/') || e.Value === null) continue;
      present.add(e.Key);
      if (this.versions.get(e.Key) === e.ModifyIndex) continue;
      this.versions.set(e.Key, e.ModifyIndex);
      this.options.sink.setDocument(`consul:${e.Key}`, e.Value, String(e.ModifyIndex));
    }
    for (const key of [...this.versions.keys()]) {
      if (present.has(key)) continue;
      this.versions.delete(key);
      this.options.sink.removeDocument(`consul:${key}`);
    }
  }
}
