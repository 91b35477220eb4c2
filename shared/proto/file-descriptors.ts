// Serialized google.protobuf.FileDescriptorProto files and sets of them, for gRPC server
// reflection (the xds-server's client, the demo's server) and the transcoder's descriptor set.
// Files are kept as their own bytes: decoding and encoding one again would drop what the
// decoder does not know — the google.api.http options, which are extensions.
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';

const FileDescriptorProto = (descriptor as unknown as { FileDescriptorProto: protobuf.Type }).FileDescriptorProto;

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
  service?: Array<{ name?: string; method?: Array<{ name?: string; inputType?: string; outputType?: string }> }>;
}

export interface FileDescription {
  readonly name: string;
  readonly dependencies: readonly string[];
  /** Its services, fully qualified ("pkg.Service"). */
  readonly services: readonly string[];
  /** The types it defines, as references name them (".pkg.Message", nested and enums too). */
  readonly defined: readonly string[];
  /** The types its fields and methods refer to (".pkg.Message"). */
  readonly referenced: readonly string[];
  /** What reflection may be asked for: its types, services and methods ("pkg.Service.Method"). */
  readonly symbols: readonly string[];
}

/** One serialized FileDescriptorProto, read once for all a caller needs of it. */
export function describeFile(bytes: Uint8Array): FileDescription {
  const f = FileDescriptorProto.decode(bytes) as unknown as FileProto;
  if (!f.name) throw new Error('a file descriptor without a name');
  const scope = f.package ? `.${f.package}` : '';
  const defined: string[] = [];
  const referenced: string[] = [];
  const walk = (m: MessageProto, prefix: string): void => {
    const fqn = `${prefix}.${m.name ?? ''}`;
    defined.push(fqn);
    for (const e of m.enumType ?? []) defined.push(`${fqn}.${e.name ?? ''}`);
    for (const field of m.field ?? []) if (field.typeName) referenced.push(field.typeName);
    for (const n of m.nestedType ?? []) walk(n, fqn);
  };
  for (const m of f.messageType ?? []) walk(m, scope);
  for (const e of f.enumType ?? []) defined.push(`${scope}.${e.name ?? ''}`);
  const services: string[] = [];
  const methods: string[] = [];
  for (const svc of f.service ?? []) {
    const name = `${scope}.${svc.name ?? ''}`.slice(1);
    services.push(name);
    for (const m of svc.method ?? []) {
      methods.push(`${name}.${m.name ?? ''}`);
      referenced.push(...[m.inputType, m.outputType].filter((t): t is string => !!t));
    }
  }
  return { name: f.name, dependencies: f.dependency ?? [], services, defined, referenced, symbols: [...defined.map((d) => d.slice(1)), ...services, ...methods] };
}

/** FileDescriptorSet { repeated FileDescriptorProto file = 1 } around the files' own bytes. */
export function setOfFiles(files: readonly Uint8Array[]): Buffer {
  const w = protobuf.Writer.create();
  for (const f of files) w.uint32((1 << 3) | 2).bytes(f);
  return Buffer.from(w.finish());
}

/** The files of a FileDescriptorSet, each as its own bytes. */
export function filesOfSet(set: Uint8Array): Uint8Array[] {
  const r = protobuf.Reader.create(set);
  const files: Uint8Array[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | 2)) files.push(r.bytes());
    else r.skipType(tag & 7);
  }
  return files;
}
