// Where configuration documents go: ext-authz's policy store, ratelimit-service's config store.
export interface DocumentSink {
  /** A document's current text; `version` is shown to operators (else a digest is used). */
  setDocument(id: string, text: string, version?: string): string | undefined;
  removeDocument(id: string): void;
}
