// The demo's gRPC model-style service: meshgate.demo.v1.Inference (demo/protos), a unary
// method (Embed), a server-streaming one (Generate) and Info, with gRPC server reflection on —
// what the gateway's transcoding reads its descriptors from — and grpc.health.v1 for Consul.
//
//   node dist/demo/grpc-inference.js --service inference --id inference-1 --consul 127.0.0.1:8500 [--reflection full|grpc-node|off] [--api v1|v2]
//
// `--api v2` serves the next version of its proto (inference_v2.proto): one method more, Tokenize.
// Reflection `full` (the default) serves the compiled files (demo/protos/inference.pb, with
// their imports and google.api.http options, as Go's and Java's servers do); `grpc-node` is
// @grpc/reflection as it is (one synthetic file per package, no imports: grpc-node#2595).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { repoRoot } from '../launcher/repo.js';
import { sharedProtoPath } from '../shared/proto/root.js';
import { instanceFlags } from './instance-flags.js';
import { addReflection } from './reflection-server.js';

const require = createRequire(import.meta.url);
const flags = instanceFlags('inference', { reflection: { type: 'string', default: 'full' }, 'pace-ms': { type: 'string', default: '20' }, api: { type: 'string', default: 'v1' } });
const reflection = flags.values['reflection'] as string;
if (!['full', 'grpc-node', 'off'].includes(reflection)) throw new Error(`--reflection: ${reflection} is not full, grpc-node or off`);
const api = flags.values['api'] as string;
if (api !== 'v1' && api !== 'v2') throw new Error(`--api: ${api} is not v1 or v2`);
const API_FILES = { v1: ['inference.proto', 'inference.pb'], v2: ['inference_v2.proto', 'inference-v2.pb'] } as const;
const [protoFile, compiledFile] = API_FILES[api];
const { service, instance } = flags;

const protos = path.join(repoRoot(), 'demo', 'protos');
// google/protobuf/*.proto as protobufjs ships them.
const wellKnown = path.dirname(require.resolve('protobufjs/package.json'));
const definition = protoLoader.loadSync(path.join(protos, 'meshgate', 'demo', 'v1', protoFile), { includeDirs: [protos, sharedProtoPath('googleapis'), wellKnown], keepCase: true, defaults: true });
const pkg = grpc.loadPackageDefinition(definition) as unknown as { meshgate: { demo: { v1: { Inference: grpc.ServiceClientConstructor } } } };

interface EmbedRequest {
  model: string;
  input: string[];
}
interface GenerateRequest {
  model: string;
  prompt: string;
  fail_with: number;
}

const server = new grpc.Server();
server.addService(pkg.meshgate.demo.v1.Inference.service, {
  Embed: (call: grpc.ServerUnaryCall<EmbedRequest, unknown>, done: grpc.sendUnaryData<unknown>) => {
    const r = call.request;
    if (!r.input.length) return done({ code: grpc.status.INVALID_ARGUMENT, details: 'input must have at least one text' });
    done(null, { model: r.model, instance, data: r.input.map((t) => ({ values: [t.length, t.split(/\s+/).length, 0.5] })) });
  },
  Generate: (call: grpc.ServerWritableStream<GenerateRequest, unknown>) => {
    const r = call.request;
    if (r.fail_with) {
      call.emit('error', { code: r.fail_with, details: `asked to fail with code ${r.fail_with}` });
      return;
    }
    const words = `You said: ${r.prompt}`.split(' ');
    let i = 0;
    const timer = setInterval(() => {
      if (call.cancelled || i >= words.length) {
        clearInterval(timer);
        if (!call.cancelled) call.end();
        return;
      }
      call.write({ text: `${i ? ' ' : ''}${words[i]}`, index: i });
      i += 1;
    }, Number(flags.values['pace-ms']));
  },
  Info: (_call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) => done(null, { instance, service }),
  // Served only by --api v2 (grpc-js ignores handlers its service definition does not have).
  Tokenize: (call: grpc.ServerUnaryCall<{ text: string }, unknown>, done: grpc.sendUnaryData<unknown>) => done(null, { tokens: call.request.text.split(/\s+/).filter(Boolean), instance }),
});
// grpc.health.v1.Health/Check, by hand: HealthCheckResponse { status: SERVING } is two bytes.
server.addService(
  {
    Check: {
      path: '/grpc.health.v1.Health/Check',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  } as grpc.ServiceDefinition,
  { Check: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => done(null, Buffer.from([0x08, 0x01])) },
);
if (reflection === 'full') addReflection(server, fs.readFileSync(path.join(protos, compiledFile)));
if (reflection === 'grpc-node') new ReflectionService(definition).addToServer(server);

const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync(`${flags.host}:${flags.port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
);
const deregister = await flags.register(port, (address) => ({ grpc: `${address}:${port}` }));
process.stdout.write(`${JSON.stringify({ msg: 'registered', service, instance, port, reflection, api })}\n`);

flags.stopOnSignals(deregister, () => server.forceShutdown());
