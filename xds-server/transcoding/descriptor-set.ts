// A gRPC service's descriptor set, as Envoy's gRPC-JSON transcoder needs it
// (google.protobuf.FileDescriptorSet): the files its reflection answers gave, every dependency
// among them, in an order where each file comes after the files it imports (Envoy builds its
// descriptor pool file by file). Pure: the files in, the set (or why there is none) out.
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';

export type DescriptorSet =
  | { readonly ok: true; readonly bytes: Buffer; readonly files: readonly string[]; readonly services: readonly string[] }
  | { readonly ok: false; readonly reason: string };

interface MessageProto {
  name?: string;
  field?: Array<{ typeName?: string }>;
  nestedType?: MessageProto[];
  enumType?: Array<{ name?: string }>;
}
interface FileProto {
  name?: string;
  package?: string;
  dependency?: string[];
  messageType?: MessageProto[];
  enumType?: Array<{ name?: string }>;
  service?: Array<{ name?: string; method?: Array<{ inputType?: string; outputType?: string }> }>;
}

/** The fully qualified names a file defines, and the names it refers to (fields, methods). */
function namesOf(f: FileProto): { defined: string[]; referenced: string[] } {
  const defined: string[] = [];
  const referenced: string[] = [];
  const scope = f.package ? `.${f.package}` : '';
  const walk = (m: MessageProto, prefix: string): void => {
    const fqn = `${prefix}.${m.name ?? ''}`;
    defined.push(fqn);
    for (const e of m.enumType ?? []) defined.push(`${fqn}.${e.name ?? ''}`);
    for (const field of m.field ?? []) if (field.typeName) referenced.push(field.typeName);
    for (const n of m.nestedType ?? []) walk(n, fqn);
  };
  for (const m of f.messageType ?? []) walk(m, scope);
  for (const e of f.enumType ?? []) defined.push(`${scope}.${e.name ?? ''}`);
  for (const svc of f.service ?? []) for (const m of svc.method ?? []) referenced.push(...[m.inputType, m.outputType].filter((t): t is string => !!t));
  return { defined, referenced };
}

const FileDescriptorProto = (descriptor as unknown as { FileDescriptorProto: protobuf.Type }).FileDescriptorProto;

/** The name and imports of one serialized FileDescriptorProto. */
export function fileInfo(bytes: Uint8Array): { name: string; dependencies: string[]; services: string[] } {
  const f = FileDescriptorProto.decode(bytes) as unknown as FileProto;
  if (!f.name) throw new Error('a file descriptor without a name');
  const pkg = f.package ? `${f.package}.` : '';
  return { name: f.name, dependencies: f.dependency ?? [], services: (f.service ?? []).map((s) => `${pkg}${s.name ?? ''}`) };
}

/**
 * The set for `services`, from the files reflection returned (in any order, duplicates allowed).
 * Refused, with the reason, when a service is in no file, a dependency is missing, or imports
 * go round in a circle.
 */
export function assembleDescriptorSet(files: readonly Uint8Array[], services: readonly string[]): DescriptorSet {
  const byName = new Map<string, { bytes: Uint8Array; dependencies: string[]; services: string[] }>();
  for (const bytes of files) {
    let info: ReturnType<typeof fileInfo>;
    try {
      info = fileInfo(bytes);
    } catch (err) {
      return { ok: false, reason: `a file descriptor could not be read: ${(err as Error).message}` };
    }
    byName.set(info.name, { bytes, dependencies: info.dependencies, services: info.services });
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
  const defined = new Set<string>();
  const protos = ordered.map((n) => [n, FileDescriptorProto.decode(byName.get(n)!.bytes) as unknown as FileProto] as const);
  for (const [, f] of protos) for (const d of namesOf(f).defined) defined.add(d);
  for (const [n, f] of protos) {
    const missing = namesOf(f).referenced.filter((r) => r.startsWith('.') && !defined.has(r));
    if (missing.length) return { ok: false, reason: `${n} refers to ${[...new Set(missing)].slice(0, 3).join(', ')}, which no file the server gave defines` };
  }
  return { ok: true, bytes: fileDescriptorSet(ordered.map((n) => byName.get(n)!.bytes)), files: ordered, services: [...services].sort() };
}

/**
 * FileDescriptorSet { repeated FileDescriptorProto file = 1 } written around the files' own
 * bytes: decoding and encoding them again would drop what the decoder does not know — the
 * google.api.http options, which are extensions.
 */
function fileDescriptorSet(files: readonly Uint8Array[]): Buffer {
  const parts: Uint8Array[] = [];
  for (const f of files) {
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 2).uint32(f.length);
    parts.push(w.finish(), f);
  }
  return Buffer.concat(parts);
}
