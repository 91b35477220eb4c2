// The policies in force: policy documents in a DocumentStore (last good per document, refusals
// kept with their reasons).
import { DocumentStore } from '../../shared/documents/document-store.js';
import { orThrow } from '../../shared/validate/result.js';
import { compileDocument, type CompileDeps, type CompiledPolicy } from './compile.js';
import { parsePolicyDocument } from './schema.js';

export type PolicyStore = DocumentStore<CompiledPolicy>;

export function createPolicyStore(deps: CompileDeps, now?: () => Date): PolicyStore {
  return new DocumentStore<CompiledPolicy>(
    {
      compile(text, source) {
        return compileDocument(orThrow(parsePolicyDocument(text)), source, deps);
      },
      conflict: (name, other) => `policies.${name}: already defined by ${other}`,
    },
    now,
  );
}
