// An ext_proc server that answers every message with bytes encoded once, on the same transport
// as the LLM processor (shared/grpc over shared/h2): the request body's answer routes to one
// model (its metadata, the header, the route cleared), every other phase goes on unchanged. The
// floor Envoy's ext_proc filter, its gRPC client and this machine put under any processor,
// printed beside the processor's figures (bench/llm-gateway.ts).
// With `headers`, the request headers' answer routes instead (a filter that sends nothing else).
//   node dist/bench/lib/constant-ext-proc.js PORT MODEL [headers]
import { GrpcServer } from '../../shared/grpc/server.js';
import { LLM_METADATA_NAMESPACE, MODEL_HEADER, MODEL_METADATA_KEY } from '../../shared/llm-gateway.js';
import { loadEnvoyProtos } from '../../shared/proto/root.js';
import { encodeContinue, EXT_PROC_PROTO, EXTERNAL_PROCESSOR_SERVICE, plainContinue } from '../../ext-proc/server/codec.js';

const port = Number(process.argv[2]);
const model = process.argv[3] ?? 'bench-model';
const routeAt = process.argv[4] === 'headers' ? 'request_headers' : 'request_body';
const routed = encodeContinue(routeAt, { setHeaders: [[MODEL_HEADER, model]], metadata: { [LLM_METADATA_NAMESPACE]: { [MODEL_METADATA_KEY]: model } }, clearRouteCache: true });
loadEnvoyProtos([EXT_PROC_PROTO]);
// ProcessingRequest's phase is its first field: 2 request headers, 3 response headers, 4 request body, 5 response body.
const ANSWERS = new Map<number, Buffer>([
  [2, routeAt === 'request_headers' ? routed : plainContinue('request_headers')],
  [3, plainContinue('response_headers')],
  [4, routeAt === 'request_body' ? routed : plainContinue('request_body')],
  [5, plainContinue('response_body')],
]);
const server = new GrpcServer({ services: [EXTERNAL_PROCESSOR_SERVICE] });
server.bidi(`/${EXTERNAL_PROCESSOR_SERVICE}/Process`, (call) => ({
  onMessage: (m) => call.send(ANSWERS.get(m[0]! >> 3) ?? plainContinue('response_body')),
  onEnd: () => call.end(),
  onCancel: () => undefined,
}));
server.setServing(true); // a Consul gRPC check on it passes
await server.listen('127.0.0.1', port);
process.stdout.write('listening\n');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
