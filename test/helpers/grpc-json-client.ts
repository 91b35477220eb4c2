// A unary gRPC client that speaks proto3 JSON, for tests: what Envoy sends, written readably.
import * as grpc from '@grpc/grpc-js';
import { decodeMessage, encodeMessage, type JsonObject } from '../../shared/proto/codec.js';

export class JsonGrpcClient<Res> {
  private readonly client: grpc.Client;

  constructor(
    address: string,
    private readonly method: string,
    private readonly requestType: string,
    private readonly responseType: string,
  ) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  /** Raw bytes in, decoded response out (or the gRPC error). */
  callRaw(bytes: Buffer, deadlineMs = 5_000): Promise<Res> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        this.method,
        (b: Buffer) => b,
        (b: Buffer) => decodeMessage(this.responseType, b) as Res,
        bytes,
        { deadline: Date.now() + deadlineMs },
        (err, value) => (err ? reject(err) : resolve(value!)),
      );
    });
  }

  call(request: JsonObject, deadlineMs?: number): Promise<Res> {
    return this.callRaw(Buffer.from(encodeMessage(this.requestType, request)), deadlineMs);
  }

  close(): void {
    this.client.close();
  }
}
