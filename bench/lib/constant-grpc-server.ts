// A grpc-js server that answers every Check with the same bytes: the floor a load generator and
// this machine put under any Node gRPC service, printed beside ext-authz's figures.
//   node dist/bench/lib/constant-grpc-server.js PORT
import * as grpc from '@grpc/grpc-js';

const port = Number(process.argv[2]);
const answer = Buffer.from([0x0a, 0x00]); // CheckResponse{status: {}}
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
  { Check: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, answer) },
);
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  process.stdout.write('listening\n');
});
process.on('SIGTERM', () => server.forceShutdown());
