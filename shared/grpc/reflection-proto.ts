// The gRPC server reflection protocol's messages (grpc.reflection.v1; v1alpha's are the same),
// from the definition @grpc/reflection ships, field names as written: for the xds-server's
// reflection client and the demo's reflection server.
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

export interface ReflectionTypes {
  readonly request: protobuf.Type;
  readonly response: protobuf.Type;
}

let types: ReflectionTypes | undefined;

export function reflectionTypes(): ReflectionTypes {
  if (types) return types;
  const file = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto');
  const root = new protobuf.Root().loadSync(file, { keepCase: true });
  types = { request: root.lookupType('grpc.reflection.v1.ServerReflectionRequest'), response: root.lookupType('grpc.reflection.v1.ServerReflectionResponse') };
  return types;
}

export const REFLECTION_PATHS = {
  v1: '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
  v1alpha: '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
} as const;
