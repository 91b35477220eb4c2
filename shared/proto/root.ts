// One protobufjs root over the Envoy API protos of the Envoy version the project runs, loaded
// once per process. The protos come as one FileDescriptorSet (envoy-api.pb, written by
// scripts/envoy-protos/generate.sh from go-control-plane's module at that version); field
// names keep their proto spelling (snake_case), as in Envoy's docs, YAML and config dumps.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';

/** The services ext-authz and ratelimit-service answer. */
export const AUTH_SERVICE_PROTO = 'envoy/service/auth/v3/external_auth.proto';
export const RATELIMIT_SERVICE_PROTO = 'envoy/service/ratelimit/v3/rls.proto';

interface FileProto {
  name: string;
  package?: string;
  syntax?: string;
  dependency?: string[];
  messageType?: protobuf.Message[];
  enumType?: protobuf.Message[];
  extension?: protobuf.Message[];
  service?: protobuf.Message[];
}

/**
 * A file of shared/proto (the Envoy API set, the vendored googleapis protos): beside this
 * module's source, found from wherever the compiled code runs.
 */
export function sharedProtoPath(name: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'shared', 'proto', name);
    if (fs.existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`shared/proto/${name} not found${name === 'envoy-api.pb' ? ': run scripts/envoy-protos/generate.sh' : ''}`);
    dir = up;
  }
}

const descriptorSetPath = (): string => sharedProtoPath('envoy-api.pb');

let files: Map<string, FileProto> | undefined;
let root: protobuf.Root | undefined;
const added = new Set<string>();

function allFiles(): Map<string, FileProto> {
  if (!files) {
    const set = descriptor.FileDescriptorSet.decode(fs.readFileSync(descriptorSetPath())) as unknown as { file: FileProto[] };
    files = new Map(set.file.map((f) => [f.name, f]));
  }
  return files;
}

// protobufjs/ext/descriptor adds these (its typings do not say so).
type FromDescriptor<T> = { fromDescriptor(d: unknown, edition: string): T };
const T = protobuf.Type as unknown as FromDescriptor<protobuf.Type>;
const E = protobuf.Enum as unknown as FromDescriptor<protobuf.Enum>;
const F = protobuf.Field as unknown as FromDescriptor<protobuf.Field>;
const S = protobuf.Service as unknown as FromDescriptor<protobuf.Service>;

/** Add one file's definitions to the root, as protobufjs's Root.fromDescriptor does for a set. */
function addFile(file: FileProto): void {
  const ns = file.package ? root!.define(file.package) : root!;
  const edition = file.syntax === 'proto3' ? 'proto3' : 'proto2';
  root!.files.push(file.name);
  const entries = mapEntries(file.package ? `.${file.package}` : '', file.messageType as unknown as MessageProto[], new Set());
  for (const m of file.messageType ?? []) {
    const type = T.fromDescriptor(m, edition);
    ns.add(type);
    withMapFields(type, entries);
  }
  for (const e of file.enumType ?? []) ns.add(E.fromDescriptor(e, edition));
  for (const x of file.extension ?? []) ns.add(F.fromDescriptor(x, edition));
  for (const s of file.service ?? []) ns.add(S.fromDescriptor(s, edition));
}

interface MessageProto {
  name: string;
  nestedType?: MessageProto[];
  options?: { mapEntry?: boolean };
}

/** Full names (".pkg.Msg.XEntry") of the map-entry messages a file defines. */
function mapEntries(scope: string, messages: readonly MessageProto[] | undefined, out: Set<string>): Set<string> {
  for (const m of messages ?? []) {
    const name = `${scope}.${m.name}`;
    if (m.options?.mapEntry) out.add(name);
    mapEntries(name, m.nestedType, out);
  }
  return out;
}

/**
 * protobufjs reads a map field of a descriptor as a repeated `XEntry` message (the wire form);
 * make it the MapField that parsing .proto text gives, so that JSON and objects see a map.
 */
function withMapFields(type: protobuf.Type, entries: ReadonlySet<string>): void {
  for (const field of [...type.fieldsArray]) {
    const entry = field.repeated && entries.has(field.type) ? type.lookup(field.type) : null;
    if (!(entry instanceof protobuf.Type)) continue;
    type.remove(field);
    type.add(new protobuf.MapField(field.name, field.id, entry.fields['key']!.type, entry.fields['value']!.type, field.options));
  }
  for (const nested of [...type.nestedArray]) {
    if (!(nested instanceof protobuf.Type)) continue;
    if (entries.has(nested.fullName)) type.remove(nested);
    else withMapFields(nested, entries);
  }
}

function addWithImports(name: string): void {
  if (added.has(name)) return;
  const file = allFiles().get(name);
  if (!file) throw new Error(`${name} is not in shared/proto/envoy-api.pb (add it to scripts/envoy-protos/generate.sh)`);
  added.add(name);
  for (const dep of file.dependency ?? []) addWithImports(dep);
  addFile(file);
}

/**
 * Load `only` (by default every file of the set) and what they import into the process's root;
 * a file already loaded is skipped. A request-path component loads only its service's file:
 * the whole set is several MB of live heap that every full GC walks.
 */
export function loadEnvoyProtos(only?: readonly string[]): protobuf.Root {
  root ??= new protobuf.Root();
  for (const name of only ?? allFiles().keys()) addWithImports(name);
  root.resolveAll();
  return root;
}

/** The root with every file loaded. */
export function envoyRoot(): protobuf.Root {
  return root && added.size === allFiles().size ? root : loadEnvoyProtos();
}

const typeCache = new Map<string, protobuf.Type>();

/** A message type by its full name, e.g. "envoy.config.cluster.v3.Cluster"; loads every file
 * when what is loaded so far does not define it. */
export function messageType(fullName: string): protobuf.Type {
  let t = typeCache.get(fullName);
  if (!t) {
    t = (root?.lookup(fullName, [protobuf.Type]) as protobuf.Type | null) ?? envoyRoot().lookupType(fullName);
    typeCache.set(fullName, t);
  }
  return t;
}

