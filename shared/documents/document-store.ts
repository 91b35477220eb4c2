// Configuration in force, from documents (files, Consul KV keys). Each document is parsed,
// validated and compiled on its own into named items (ext-authz policies, rate-limit domains);
// a refused document leaves its last good version in force, and the refusal — with its reason
// — is kept for status pages, logs and metrics. A name may be defined by one document only.
import { createHash } from 'node:crypto';
import type { DocumentSink } from './document-sink.js';

export interface DocumentSource {
  readonly document: string;
  readonly version: string;
}

export interface DocumentKind<T> {
  /** Parse, validate and compile; throw an Error whose message is the reason to refuse. */
  compile(text: string, source: DocumentSource): ReadonlyMap<string, T>;
  /** How a name defined twice is reported, e.g. "policies.x: already defined by …". */
  conflict(name: string, otherDocument: string): string;
}

export interface Refusal {
  readonly version: string;
  readonly reason: string;
  readonly at: string;
}

export interface DocumentStatus {
  readonly id: string;
  readonly state: 'active' | 'refused';
  readonly version: string | null;
  readonly loaded_at: string | null;
  readonly names: string[];
  readonly last_refusal: Refusal | null;
}

export type StoreEvent =
  | { kind: 'applied'; document: string; version: string; names: string[] }
  | { kind: 'refused'; document: string; version: string; reason: string }
  | { kind: 'removed'; document: string };

interface DocumentState<T> {
  active?: { version: string; items: ReadonlyMap<string, T>; loadedAt: string; digest: string };
  lastRefusal?: Refusal;
}

export class DocumentStore<T> implements DocumentSink {
  private readonly documents = new Map<string, DocumentState<T>>();
  private merged: ReadonlyMap<string, T> = new Map();
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  constructor(
    private readonly kind: DocumentKind<T>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Everything in force, by name. Replaced as a whole on every change. */
  get items(): ReadonlyMap<string, T> {
    return this.merged;
  }

  onEvent(listener: (e: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A document's new text. Returns the refusal reason, or undefined when it is in force. */
  setDocument(id: string, text: string, version?: string): string | undefined {
    const digest = createHash('sha256').update(text).digest('hex');
    const v = version ?? digest.slice(0, 12);
    const doc = this.documents.get(id) ?? {};
    this.documents.set(id, doc);
    if (doc.active?.digest === digest) return undefined;

    const refuse = (reason: string): string => {
      doc.lastRefusal = { version: v, reason, at: this.now().toISOString() };
      this.emit({ kind: 'refused', document: id, version: v, reason });
      return reason;
    };
    let items: ReadonlyMap<string, T>;
    try {
      items = this.kind.compile(text, { document: id, version: v });
    } catch (err) {
      return refuse((err as Error).message);
    }
    for (const name of items.keys()) {
      for (const [otherId, other] of this.documents) {
        if (otherId !== id && other.active?.items.has(name)) return refuse(this.kind.conflict(name, otherId));
      }
    }
    doc.active = { version: v, items, loadedAt: this.now().toISOString(), digest };
    this.rebuild();
    this.emit({ kind: 'applied', document: id, version: v, names: [...items.keys()] });
    return undefined;
  }

  /** The document is gone from its source: what it defined stops existing. */
  removeDocument(id: string): void {
    if (!this.documents.delete(id)) return;
    this.rebuild();
    this.emit({ kind: 'removed', document: id });
  }

  status(): DocumentStatus[] {
    return [...this.documents.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([id, d]) => ({
        id,
        state: d.active ? 'active' : 'refused',
        version: d.active?.version ?? null,
        loaded_at: d.active?.loadedAt ?? null,
        names: d.active ? [...d.active.items.keys()] : [],
        last_refusal: d.lastRefusal ?? null,
      }));
  }

  private rebuild(): void {
    const merged = new Map<string, T>();
    for (const d of this.documents.values()) for (const [n, item] of d.active?.items ?? []) merged.set(n, item);
    this.merged = merged;
  }

  private emit(e: StoreEvent): void {
    for (const l of this.listeners) l(e);
  }
}
