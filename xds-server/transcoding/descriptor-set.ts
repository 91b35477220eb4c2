// A gRPC service's descriptor set, as Envoy's gRPC-JSON transcoder needs it
// (google.protobuf.FileDescriptorSet): the files its reflection answers gave, every dependency
// among them, in an order where each file comes after the files it imports (Envoy builds its
// descriptor pool file by file). Pure: the files in, the set (or why there is none) out.
import { describeFile, setOfFiles, type FileDescription } from '../../shared/proto/file-descriptors.js';

export type DescriptorSet =
  | { readonly ok: true; readonly bytes: Buffer; readonly files: readonly string[]; readonly services: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/**
 * The set for `services`, from the files reflection returned (in any order, duplicates allowed).
 * Refused, with the reason, when a service is in no file, a dependency is missing, or imports
 * go round in a circle.
 */
export function assembleDescriptorSet(files: readonly Uint8Array[], services: readonly string[]): DescriptorSet {
  const byName = new Map<string, FileDescription & { readonly bytes: Uint8Array }>();
  for (const bytes of files) {
    let info: FileDescription;
    try {
      info = describeFile(bytes);
    } catch (err) {
      return { ok: false, reason: `a file descriptor could not be read: ${(err as Error).message}` };
    }
    byName.set(info.name, { ...info, bytes });
  }
  const declared = new Set([...byName.values()].flatMap((f) => f.services));
  const missingServices = services.filter((s) => !declared.has(s));
  if (missingServices.length) return { ok: false, reason: `no file declares ${missingServices.join(', ')}` };

  const ordered: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, from: string): string | undefined => {
    const s = state.get(name);
    if (s === 'done') return undefined;
    if (s === 'visiting') return `imports go round in a circle through ${name}`;
    const f = byName.get(name);
    if (!f) return `${from} imports ${name}, which the server did not give`;
    state.set(name, 'visiting');
    for (const d of f.dependencies) {
      const problem = visit(d, name);
      if (problem) return problem;
    }
    state.set(name, 'done');
    ordered.push(name);
    return undefined;
  };
  // Only what the services need: their files and those files' imports.
  for (const [name, f] of [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!f.services.some((s) => services.includes(s))) continue;
    const problem = visit(name, name);
    if (problem) return { ok: false, reason: problem };
  }
  // Every type a file refers to must be defined in the set: Envoy would refuse it otherwise, and
  // some reflection servers (grpc-node's, grpc-node#2595) send files without their imports.
  const defined = new Set(ordered.flatMap((n) => byName.get(n)!.defined));
  for (const n of ordered) {
    const missing = byName.get(n)!.referenced.filter((r) => r.startsWith('.') && !defined.has(r));
    if (missing.length) return { ok: false, reason: `${n} refers to ${[...new Set(missing)].slice(0, 3).join(', ')}, which no file the server gave defines` };
  }
  return { ok: true, bytes: setOfFiles(ordered.map((n) => byName.get(n)!.bytes)), files: ordered, services: [...services].sort() };
}
