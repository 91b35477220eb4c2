// A gRPC server that answers every Check with the same bytes: the floor a load generator and
// this machine put under any Node gRPC service, printed beside ext-authz's figures — once on
// grpc-js, once on the hand-served HTTP/2 transport the components use (shared/h2), which is
// how the choice between them was measured.
//   node dist/bench/lib/constant-grpc-server.js PORT grpc-js|meshgate
import { UnaryGrpcServer } from '../../shared/grpc/unary-server.js';

const port = Number(process.argv[2]);
const transport = process.argv[3] ?? 'meshgate';
const answer = Buffer.from([0x0a, 0x00]); // CheckResponse{status: {}}

if (transport === 'grpc-js') {
  // Loaded only here: with grpc-js merely imported, the shared/h2 floor's young generation grew
  // 4× and mark-compacts appeared (measured; the services themselves never load it).
  const grpc = await import('@grpc/grpc-js');
  const server = new grpc.Server();
  server.addService(
    {
      Check: {
        path: '/envoy.service.auth.v3.Authorization/Check',
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    { Check: (_call: unknown, callback: (err: null, value: Buffer) => void) => callback(null, answer) },
  );
  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) throw err;
    process.stdout.write('listening\n');
  });
  process.on('SIGTERM', () => server.forceShutdown());
} else {
  const server = new UnaryGrpcServer<Buffer>({ service: 'envoy.service.auth.v3.Authorization', method: 'Check', decode: (b) => b, handle: async () => answer });
  server.setServing(true); // so that a Consul gRPC check on it passes (bench/gateway-authz.ts)
  await server.listen('127.0.0.1', port);
  process.stdout.write('listening\n');
  process.on('SIGTERM', () => void server.close(100).then(() => process.exit(0)));
}
