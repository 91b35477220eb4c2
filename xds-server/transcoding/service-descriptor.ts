// A service's descriptors as the gateway's routes use them: the set Envoy's transcoder reads
// (with the gRPC path added to annotated methods), the methods, and the one path regex that
// routes every path the service answers. Built once per fetched or stored descriptor, checked
// here so that Envoy is never sent a descriptor it would refuse. Pure.
import { createHash } from 'node:crypto';
import { filesOfSet, setOfFiles } from '../../shared/proto/file-descriptors.js';
import { describeRefusal, refused, valid, type Checked } from '../../shared/validate/result.js';
import type { ServiceDescriptor } from '../model/mesh.js';
import { assembleDescriptorSet } from './descriptor-set.js';
import { grpcPathRegex, methodsOfFiles, templateRegex, withGrpcPathBindings } from './http-rules.js';

/** Envoy matches the route's regex with RE2; the gateway bootstraps raise its program size limit to this. */
export const MAX_PATH_REGEX_CHARS = 16_384;
/** Envoy's transcoder keeps a descriptor pool per route: a bound on what each costs. */
export const MAX_DESCRIPTOR_BYTES = 4 * 1024 * 1024;

export interface DescriptorOrigin {
  /** Consul service name. */
  readonly service: string;
  /** Where it came from, for operators: "reflection inference-1 (127.0.0.1:7000)", "consul kv …". */
  readonly source: string;
  readonly loadedAt: string;
}

/**
 * The descriptor for `grpcServices` (all the files declare, when undefined) from the files a
 * reflection server or an operator gave, in any order.
 */
export function serviceDescriptor(files: readonly Uint8Array[], grpcServices: readonly string[] | undefined, origin: DescriptorOrigin): Checked<ServiceDescriptor> {
  try {
    return build(files, grpcServices, origin);
  } catch (err) {
    // Bytes a server or an operator sent that are no protobuf at all.
    return refused('', `the descriptors could not be read: ${(err as Error).message}`);
  }
}

function build(files: readonly Uint8Array[], grpcServices: readonly string[] | undefined, origin: DescriptorOrigin): Checked<ServiceDescriptor> {
  // Reflection names its services; an operator's set serves all it declares.
  const services = [...new Set(grpcServices ?? methodsOfFiles(files).map((m) => m.service))].sort();
  if (services.length === 0) return refused('', 'the descriptors declare no gRPC service');
  const set = assembleDescriptorSet(files, services);
  if (!set.ok) return refused('', set.reason);
  const ordered = filesOfSet(set.bytes).map(withGrpcPathBindings);
  const bytes = setOfFiles(ordered);
  if (bytes.length > MAX_DESCRIPTOR_BYTES) return refused('', `the descriptor set is ${bytes.length} bytes, more than the ${MAX_DESCRIPTOR_BYTES} a service may have`);
  const methods = methodsOfFiles(ordered).filter((m) => services.includes(m.service));
  // Every method's gRPC path (the transcoder answers an unknown method 404), then the REST paths.
  const alternatives = new Set(services.map(grpcPathRegex));
  for (const m of methods) {
    for (const b of m.bindings) {
      if (b.template === `/${m.service}/${m.method}`) continue; // the gRPC paths are matched below
      // Envoy refuses the whole route table for one template that is none ("transcoding_filter:
      // Cannot register 'pkg.Service.Method' to path matcher"): refused here, with the template.
      const r = templateRegex(b.template);
      if (!r.ok) return refused('', `${m.service}.${m.method}: ${describeRefusal(r)}`);
      alternatives.add(r.value);
    }
  }
  const pathRegex = `^(?:${[...alternatives].sort().join('|')})$`;
  if (pathRegex.length > MAX_PATH_REGEX_CHARS) return refused('', `the services' paths make a route regex of ${pathRegex.length} characters, more than ${MAX_PATH_REGEX_CHARS}`);
  return valid(
    Object.freeze({
      ...origin,
      grpcServices: services,
      files: set.files,
      methods,
      base64: bytes.toString('base64'),
      digest: createHash('sha256').update(bytes).digest('hex').slice(0, 16),
      pathRegex,
    }),
  );
}
