// The policies in force. Documents come from sources (files, Consul KV keys); each is
// validated and compiled on its own. A refused document leaves its last good version in force,
// and the refusal — with its reason — is kept for /status, the log and the metrics.
import { createHash } from 'node:crypto';
import { compileDocument, type CompileDeps, type CompiledPolicy } from './compile.js';
import { parsePolicyDocument } from './schema.js';

export interface Refusal {
  readonly version: string;
  readonly reason: string;
  readonly at: string;
}

interface DocumentState {
  readonly id: string;
  active?: { version: string; policies: Map<string, CompiledPolicy>; loadedAt: string; digest: string };
  lastRefusal?: Refusal;
}

export interface DocumentStatus {
  readonly id: string;
  readonly state: 'active' | 'refused' | 'removed';
  readonly version: string | null;
  readonly loaded_at: string | null;
  readonly policies: string[];
  readonly last_refusal: Refusal | null;
}

export type StoreEvent =
  | { kind: 'applied'; document: string; version: string; policies: string[] }
  | { kind: 'refused'; document: string; version: string; reason: string }
  | { kind: 'removed'; document: string };

export class PolicyStore {
  private readonly documents = new Map<string, DocumentState>();
  private merged = new Map<string, CompiledPolicy>();
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  constructor(
    private readonly deps: CompileDeps,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The policies in force, by name. Replaced as a whole on every change. */
  get policies(): ReadonlyMap<string, CompiledPolicy> {
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
    const doc = this.documents.get(id) ?? { id };
    this.documents.set(id, doc);
    if (doc.active?.digest === digest) return undefined;

    const refuse = (reason: string): string => {
      doc.lastRefusal = { version: v, reason, at: this.now().toISOString() };
      this.emit({ kind: 'refused', document: id, version: v, reason });
      return reason;
    };
    const parsed = parsePolicyDocument(text);
    if (!parsed.ok) return refuse(parsed.reason);
    let compiled: Map<string, CompiledPolicy>;
    try {
      compiled = compileDocument(parsed.document, { document: id, version: v }, this.deps);
    } catch (err) {
      return refuse((err as Error).message);
    }
    for (const name of compiled.keys()) {
      for (const other of this.documents.values()) {
        if (other !== doc && other.active?.policies.has(name)) return refuse(`policies.${name}: already defined by ${other.id}`);
      }
    }
    doc.active = { version: v, policies: compiled, loadedAt: this.now().toISOString(), digest };
    this.rebuild();
    this.emit({ kind: 'applied', document: id, version: v, policies: [...compiled.keys()] });
    return undefined;
  }

  /** The document is gone from its source: its policies stop existing (routes naming them deny). */
  removeDocument(id: string): void {
    if (!this.documents.delete(id)) return;
    this.rebuild();
    this.emit({ kind: 'removed', document: id });
  }

  status(): DocumentStatus[] {
    return [...this.documents.values()]
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((d) => ({
        id: d.id,
        state: d.active ? 'active' : 'refused',
        version: d.active?.version ?? null,
        loaded_at: d.active?.loadedAt ?? null,
        policies: d.active ? [...d.active.policies.keys()] : [],
        last_refusal: d.lastRefusal ?? null,
      }));
  }

  private rebuild(): void {
    const merged = new Map<string, CompiledPolicy>();
    for (const d of this.documents.values()) for (const [n, p] of d.active?.policies ?? []) merged.set(n, p);
    this.merged = merged;
  }

  private emit(e: StoreEvent): void {
    for (const l of this.listeners) l(e);
  }
}
