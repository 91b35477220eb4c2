// Descriptors an operator put in Consul KV, one key per service under a prefix: a
// FileDescriptorSet (binary, base64 or JSON) ready to use, or .proto text still to compile.
// Each key is validated on its own; a refused one leaves its last good version in force.
import { DocumentStore } from '../../../shared/documents/document-store.js';
import { orThrow } from '../../../shared/validate/result.js';
import type { ServiceDescriptor } from '../../model/mesh.js';
import { filesOfDocument } from '../../transcoding/descriptor-document.js';
import { looksLikeProto } from '../../transcoding/proto-compiler.js';
import { serviceDescriptor } from '../../transcoding/service-descriptor.js';

/** Consul KV values are at most 512 KiB. */
const MAX_PROTO_TEXT = 512 * 1024;

export type ProtoText = { readonly kind: 'proto'; readonly text: string; readonly source: string };
export type KvDescriptor = { readonly kind: 'set'; readonly descriptor: ServiceDescriptor } | ProtoText;

/** The service a KV document is for: the last part of its key. */
export const serviceOfDocument = (id: string): string => id.slice(id.lastIndexOf('/') + 1);

export function kvDescriptorDocuments(): DocumentStore<KvDescriptor> {
  return new DocumentStore<KvDescriptor>({
    compile(text, source) {
      const service = serviceOfDocument(source.document);
      const from = `consul kv ${source.document.replace(/^consul:/, '')} (index ${source.version})`;
      if (looksLikeProto(text)) {
        if (text.length > MAX_PROTO_TEXT) throw new Error(`.proto text of ${text.length} characters, more than ${MAX_PROTO_TEXT}`);
        return new Map([[service, { kind: 'proto', text, source: from } as const]]);
      }
      const files = orThrow(filesOfDocument(text));
      const d = orThrow(serviceDescriptor(files, undefined, { service, source: from, loadedAt: new Date().toISOString() }));
      return new Map([[service, { kind: 'set', descriptor: d } as const]]);
    },
    conflict: (name, other) => `${name} already has a descriptor from ${other}`,
  });
}
