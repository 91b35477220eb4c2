// What every component does when its configuration documents change: log each event, count
// refusals by source ("file", "consul"), and keep a gauge of the items in force. The refusal
// reason goes to the log; the last good version stays in force (document-store.ts).
import type { Logger } from 'pino';
import type { DocumentStore } from './document-store.js';

export interface DocumentEventReport {
  /** What the documents hold, for log lines ("policy document", "config entry"). */
  readonly what: string;
  /** The log field that lists the names a document defines ("policies", "domains"). */
  readonly namesField: string;
  readonly refusals: { inc(labels: { source: string }): void };
  readonly inForce: { set(value: number): void };
}

export function reportDocumentEvents<T>(store: DocumentStore<T>, log: Logger, r: DocumentEventReport): void {
  store.onEvent((e) => {
    r.inForce.set(store.items.size);
    if (e.kind === 'applied') log.info({ document: e.document, version: e.version, [r.namesField]: e.names }, `${r.what} in force`);
    if (e.kind === 'refused') {
      r.refusals.inc({ source: e.document.split(':')[0]! });
      log.error({ document: e.document, version: e.version, reason: e.reason }, `${r.what} refused; the last good version stays in force`);
    }
    if (e.kind === 'removed') log.warn({ document: e.document }, `${r.what} removed`);
  });
}
