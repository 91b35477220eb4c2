// Starts the configuration sources a component was given — files or directories, and a Consul
// KV prefix — feeding one document sink, with logging, a metric for failing watches, and a
// record of which sources have not answered yet (components are not ready until they have).
import type { Logger } from 'pino';
import type { ConsulClient } from '../consul/client.js';
import { ConsulKvDocumentSource } from './consul-kv-source.js';
import type { DocumentSink } from './document-sink.js';
import { FileDocumentSource } from './file-source.js';

export interface SourcesOptions {
  readonly paths: readonly string[];
  readonly consul: ConsulClient | undefined;
  readonly consulPrefix: string | undefined;
  readonly sink: DocumentSink;
  readonly log: Logger;
  /** What the documents are, for log lines ("policy", "rate limit config"). */
  readonly what: string;
  readonly onWatchError?: () => void;
  /** A source answered for the first time (readiness may change). */
  readonly onFirstAnswer?: () => void;
}

export interface RunningSources {
  /** Sources that have not answered yet. */
  readonly pending: ReadonlySet<string>;
  stop(): void;
}

export function startDocumentSources(o: SourcesOptions): RunningSources {
  const pending = new Set<string>();
  const running: Array<{ stop(): void }> = [];
  if (o.paths.length) {
    const files = new FileDocumentSource({
      paths: o.paths,
      sink: o.sink,
      onError: (file, err) => o.log.warn({ file, err: err.message }, `cannot read ${o.what} file`),
    });
    files.start(); // reads synchronously: the files are loaded now
    running.push(files);
  }
  if (o.consul && o.consulPrefix) {
    pending.add('consul');
    const kv = new ConsulKvDocumentSource({
      client: o.consul,
      prefix: o.consulPrefix,
      sink: o.sink,
      onError: (err, failures) => {
        o.onWatchError?.();
        if (failures === 1 || failures % 10 === 0) o.log.warn({ err: err.message, failures }, `consul KV watch failing; the ${o.what} in force stays`);
      },
      onFirstAnswer: () => {
        pending.delete('consul');
        o.onFirstAnswer?.();
      },
    });
    kv.start();
    running.push(kv);
  }
  return {
    pending,
    stop: () => {
      for (const s of running) s.stop();
    },
  };
}
