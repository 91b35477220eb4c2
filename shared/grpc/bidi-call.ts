// One bidirectional-streaming gRPC call on an HTTP/2 stream: length-prefixed messages are cut
// out of DATA as it arrives and handed to the handler one by one; the answer's messages go out
// as the handler sends them (the response headers before the first), and the call ends with a
// status in the trailers. What the call keeps of the caller's bytes is at most one unfinished
// message, of at most `maxMessageBytes`: a longer one ends the call RESOURCE_EXHAUSTED.
import type { ServerStream } from '../h2/stream.js';
import { GrpcStatus, OK_TRAILERS, RESPONSE_HEADERS, endWithStatus, grpcFrame, statusTrailers } from './wire.js';

export interface BidiHandler {
  onMessage(message: Buffer): void;
  /** The caller sent its last message (half-closed); this side may go on sending. */
  onEnd(): void;
  /** The stream closed before this side ended it: reset, connection gone, or a bound passed. */
  onCancel(): void;
}

export class BidiCall {
  private headersSent = false;
  private finished = false;
  private handler: BidiHandler | undefined;
  /** An unfinished message's bytes so far (the prefix included). */
  private partial: Buffer | undefined;

  private constructor(
    readonly stream: ServerStream,
    private readonly maxMessageBytes: number,
  ) {}

  static start(stream: ServerStream, open: (call: BidiCall, stream: ServerStream) => BidiHandler, maxMessageBytes: number): void {
    const call = new BidiCall(stream, maxMessageBytes);
    call.handler = open(call, stream);
    stream.onData = (chunk) => call.onData(chunk);
    stream.onEnd = () => {
      if (call.finished) return;
      if (call.partial) return call.end(GrpcStatus.INTERNAL, 'the stream ended inside a message');
      call.handler!.onEnd();
    };
    stream.onClose = () => {
      if (call.finished) return;
      call.finished = true;
      call.handler!.onCancel();
    };
  }

  /** This side may still send. */
  get open(): boolean {
    return !this.finished && this.stream.open;
  }

  send(message: Uint8Array): void {
    if (!this.open) return;
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.respond(RESPONSE_HEADERS, false);
    }
    this.stream.write(grpcFrame(message));
  }

  /** Ends the call with a status (OK unless said): trailers after what was sent. */
  end(code: number = 0, message = ''): void {
    if (!this.open) return;
    this.finished = true;
    if (!this.headersSent) {
      if (code === 0) this.stream.respond(Buffer.concat([RESPONSE_HEADERS, OK_TRAILERS]), true);
      else endWithStatus(this.stream, code, message);
      return;
    }
    this.stream.write(Buffer.alloc(0), code === 0 ? OK_TRAILERS : statusTrailers(code, message));
  }

  private onData(chunk: Buffer): void {
    let buf = this.partial ? Buffer.concat([this.partial, chunk]) : chunk;
    this.partial = undefined;
    while (buf.length >= 5 && !this.finished) {
      const length = buf.readUInt32BE(1);
      if (length > this.maxMessageBytes) return this.end(GrpcStatus.RESOURCE_EXHAUSTED, `a message of ${length} bytes: at most ${this.maxMessageBytes}`);
      if (buf[0] !== 0) return this.end(GrpcStatus.UNIMPLEMENTED, `compressed messages are not supported (grpc-encoding ${this.stream.header('grpc-encoding') ?? 'unset'})`);
      if (buf.length < 5 + length) break;
      const message = buf.subarray(5, 5 + length);
      buf = buf.subarray(5 + length);
      this.handler!.onMessage(message);
    }
    if (buf.length && !this.finished) this.partial = Buffer.from(buf); // a copy: the chunk's memory is not kept whole
  }
}
