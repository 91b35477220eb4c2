// One bidirectional-streaming gRPC call on an HTTP/2 stream: length-prefixed messages are cut
// out of DATA as it arrives and handed to the handler one by one; the answer's messages go out
// as the handler sends them (the response headers before the first), and the call ends with a
// status in the trailers. What the call keeps of the caller's bytes is at most one unfinished
// message, of at most `maxMessageBytes` (its prefix says how long it is: a longer one ends the
// call RESOURCE_EXHAUSTED before its bytes are kept).
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
  /** An unfinished message's chunks so far (the prefix included), joined once it is whole. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** The unfinished message's whole length (prefix included), once its prefix is in. */
  private partialNeeds = 0;

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
      if (call.partialBytes) return call.end(GrpcStatus.INTERNAL, 'the stream ended inside a message');
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
    let buf = chunk;
    if (this.partialBytes) {
      // Keep the pieces of a long message and copy them once, when the last arrives.
      if (!this.partialNeeds && this.partialBytes + chunk.length >= 5) {
        const head = Buffer.concat([...this.partial, chunk]).subarray(0, 5);
        if (!this.checkPrefix(head)) return;
        this.partialNeeds = 5 + head.readUInt32BE(1);
      }
      if (!this.partialNeeds || this.partialBytes + chunk.length < this.partialNeeds) {
        this.partial.push(chunk);
        this.partialBytes += chunk.length;
        return;
      }
      const take = this.partialNeeds - this.partialBytes;
      const message = Buffer.concat([...this.partial, chunk.subarray(0, take)]);
      this.partial = [];
      this.partialBytes = 0;
      this.partialNeeds = 0;
      this.handler!.onMessage(message.subarray(5));
      buf = chunk.subarray(take);
    }
    while (buf.length >= 5 && !this.finished) {
      if (!this.checkPrefix(buf)) return;
      const length = buf.readUInt32BE(1);
      if (buf.length < 5 + length) break;
      const message = buf.subarray(5, 5 + length);
      buf = buf.subarray(5 + length);
      this.handler!.onMessage(message);
    }
    if (buf.length && !this.finished) {
      // A copy: the chunk's memory is not kept whole for a piece of it.
      this.partial = [Buffer.from(buf)];
      this.partialBytes = buf.length;
      this.partialNeeds = buf.length >= 5 ? 5 + buf.readUInt32BE(1) : 0;
    }
  }

  /** The 5-byte prefix: not compressed, not too long; else the call ends with why. */
  private checkPrefix(prefix: Buffer): boolean {
    const length = prefix.readUInt32BE(1);
    if (length > this.maxMessageBytes) {
      this.end(GrpcStatus.RESOURCE_EXHAUSTED, `a message of ${length} bytes: at most ${this.maxMessageBytes}`);
      return false;
    }
    if (prefix[0] !== 0) {
      this.end(GrpcStatus.UNIMPLEMENTED, `compressed messages are not supported (grpc-encoding ${this.stream.header('grpc-encoding') ?? 'unset'})`);
      return false;
    }
    return true;
  }
}
