// A demo gRPC service for proxyless clients: meshgate.demo.Echo/Say answers which instance it is,
// beside grpc.health.v1 (the Consul check). It registers in Consul with protocol=grpc.
//
//   node dist/demo/grpc-echo.js --service echo --id echo-1 --consul 127.0.0.1:8500
//
// Messages are JSON in the gRPC frame (no .proto to ship for a demo): {"message": "hi"} →
// {"message": "hi", "instance": "echo-1", "service": "echo"}.
import { UnaryGrpcServer } from '../shared/grpc/unary-server.js';
import { ECHO_METHOD, ECHO_SERVICE } from './grpc-echo-api.js';
import { instanceFlags } from './instance-flags.js';

const flags = instanceFlags('echo');
const { service, instance } = flags;

const server = new UnaryGrpcServer<{ message?: unknown }>({
  service: ECHO_SERVICE,
  method: ECHO_METHOD,
  decode: (bytes) => (bytes.length ? JSON.parse(bytes.toString()) : {}),
  handle: async (request) => Buffer.from(JSON.stringify({ message: request.message ?? null, instance, service })),
});

const port = await server.listen(flags.host, flags.port);
server.setServing(true);
const deregister = await flags.register(port, (address) => ({ grpc: `${address}:${port}` }));
process.stdout.write(`${JSON.stringify({ msg: 'registered', service, instance, port })}\n`);

flags.stopOnSignals(deregister, () => server.close());
