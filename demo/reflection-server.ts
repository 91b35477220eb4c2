// gRPC server reflection (v1 and v1alpha) on a grpc-js server, answering from a compiled
// FileDescriptorSet (demo/protos/inference.pb, scripts/demo-protos): the files as written, with
// their imports and options — as Go's and Java's reflection serve them, unlike grpc-node's.
import * as grpc from '@grpc/grpc-js';
import { describeFile, filesOfSet } from '../shared/proto/file-descriptors.js';
import { REFLECTION_PATHS, reflectionTypes } from '../shared/grpc/reflection-proto.js';

interface FileIndex {
  readonly bytes: Map<string, Uint8Array>;
  readonly imports: Map<string, readonly string[]>;
  /** Fully qualified symbol (no leading dot) → the file defining it. */
  readonly symbols: Map<string, string>;
  readonly services: string[];
}

/** The set's files by name, and which defines what; the raw bytes of each file kept as they are. */
function indexOf(set: Uint8Array): FileIndex {
  const index: FileIndex = { bytes: new Map(), imports: new Map(), symbols: new Map(), services: [] };
  for (const bytes of filesOfSet(set)) {
    const f = describeFile(bytes);
    index.bytes.set(f.name, bytes);
    index.imports.set(f.name, f.dependencies);
    for (const s of f.symbols) index.symbols.set(s, f.name);
    index.services.push(...f.services);
  }
  return index;
}

/** A file and everything it imports, imports first. */
function withImports(index: FileIndex, name: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const seen = new Set<string>();
  const add = (n: string): void => {
    if (seen.has(n) || !index.bytes.has(n)) return;
    seen.add(n);
    for (const d of index.imports.get(n) ?? []) add(d);
    out.push(index.bytes.get(n)!);
  };
  add(name);
  return out;
}

export function addReflection(server: grpc.Server, descriptorSet: Uint8Array, own: readonly string[] = ['grpc.health.v1.Health']): void {
  const t = reflectionTypes();
  const index = indexOf(descriptorSet);
  const answer = (req: Record<string, unknown>): Record<string, unknown> => {
    const files = (name: string | undefined) => (name ? withImports(index, name) : []);
    if (req['list_services'] !== undefined) return { list_services_response: { service: [...index.services, ...own].map((name) => ({ name })) } };
    const symbol = req['file_containing_symbol'] as string | undefined;
    const filename = req['file_by_filename'] as string | undefined;
    const found = symbol !== undefined ? files(index.symbols.get(symbol)) : filename !== undefined ? files(index.bytes.has(filename) ? filename : undefined) : [];
    if (!found.length) return { error_response: { error_code: grpc.status.NOT_FOUND, error_message: `not found: ${symbol ?? filename ?? 'that request'}` } };
    return { file_descriptor_response: { file_descriptor_proto: found } };
  };
  for (const p of Object.values(REFLECTION_PATHS)) {
    const method = p.split('/')[2]!;
    server.addService(
      {
        [method]: {
          path: p,
          requestStream: true,
          responseStream: true,
          requestSerialize: (m: Record<string, unknown>) => Buffer.from(t.request.encode(t.request.fromObject(m)).finish()),
          requestDeserialize: (b: Buffer) => t.request.toObject(t.request.decode(b)) as Record<string, unknown>,
          responseSerialize: (m: Record<string, unknown>) => Buffer.from(t.response.encode(t.response.fromObject(m)).finish()),
          responseDeserialize: (b: Buffer) => t.response.decode(b),
        },
      } as grpc.ServiceDefinition,
      {
        [method]: (call: grpc.ServerDuplexStream<Record<string, unknown>, Record<string, unknown>>) => {
          call.on('data', (req: Record<string, unknown>) => call.write({ original_request: req, ...answer(req) }));
          call.on('end', () => call.end());
        },
      },
    );
  }
}
