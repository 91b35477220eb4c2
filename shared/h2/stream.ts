// One request stream on the server side, with the states of RFC 9113 section 5.1 that a server
// without push can be in. Half-closed (local) is never dwelt in: an answer that ends before the
// request does is followed by RST_STREAM NO_ERROR (section 8.1), which closes the stream. The
// connection moves it between states; the application reads the request head, waits for the
// body (onEnd) and answers through it.
import { ReceiveWindow, SendWindow } from './flow.js';
import type { HeaderList } from './hpack.js';
import type { RequestHead } from './request-head.js';

export const enum StreamState {
  /** Both sides may send. */
  Open,
  /** The request ended (END_STREAM received); only this side sends. */
  HalfClosedRemote,
  /** Nothing more either way; the stream has left the connection's table. */
  Closed,
}

/** What a stream needs from its connection to answer. */
export interface StreamOwner {
  sendHeaders(s: ServerStream, block: Buffer, end: boolean): void;
  sendData(s: ServerStream, data: Buffer, end: boolean, trailers: Buffer | undefined): void;
  sendWhole(s: ServerStream, headers: Buffer, data: readonly Uint8Array[], trailers: Buffer): void;
}

export class ServerStream {
  state = StreamState.Open;
  /** Called once, when the request has ended (or grew past a limit: see `overflowed`). */
  onEnd: ((body: Buffer) => void) | undefined = undefined;
  /**
   * Set (in onStream) by an application that reads the body as it comes — a streaming gRPC
   * method: each DATA payload is handed over at once and never held, and onEnd gets an empty
   * body. The application bounds what it keeps; the stream is timed by its idleness, not by
   * how long it has been open.
   */
  onData: ((chunk: Buffer) => void) | undefined = undefined;
  /** When a frame for this stream last arrived (streaming streams time out on it). */
  lastFrameAt: number;
  /** Called once, when the stream closes for any reason (answered, reset, connection gone). */
  onClose: (() => void) | undefined;
  /** The body passed a limit: it was dropped, and onEnd came early with an empty one. */
  overflowed = false;
  /** The application has written its last frame (DATA may still wait for window). */
  localEnded = false;
  /** The application has sent its response headers (a streaming call answers before it ends). */
  answered = false;
  /** DATA bytes received (for content-length, section 8.1.1). */
  dataReceived = 0;
  /** Bytes this stream holds against the connection's and the server's budgets. */
  held = 0;
  readonly openedAt: number;
  readonly sendWindow: SendWindow;
  readonly receiveWindow: ReceiveWindow;
  /** DATA waiting for flow-control credit; then END_STREAM or the trailers. */
  pending: Array<{ data: Buffer; end: boolean; trailers: Buffer | undefined }> = [];
  private chunks: Buffer[] = [];

  constructor(
    readonly id: number,
    private readonly owner: StreamOwner,
    /** The request's fields as decoded, pseudo-headers included. */
    readonly fields: HeaderList,
    readonly head: RequestHead,
    sendWindow: number,
    receiveWindow: number,
    now: number,
  ) {
    this.sendWindow = new SendWindow(sendWindow);
    this.receiveWindow = new ReceiveWindow(receiveWindow, receiveWindow);
    this.openedAt = now;
    this.lastFrameAt = now;
  }

  /** A request field's first value (a scan: a gRPC request has about ten). */
  header(name: string): string | undefined {
    for (const h of this.fields) if (h[0] === name) return h[1];
    return undefined;
  }

  get remoteEnded(): boolean {
    return this.state !== StreamState.Open;
  }

  /** This side may still send. */
  get open(): boolean {
    return this.state !== StreamState.Closed && !this.localEnded;
  }

  /** Sends a header block (encoded by hpack.ts); `end` closes this side with it. */
  respond(block: Buffer, end: boolean): void {
    if (this.open) this.owner.sendHeaders(this, block, end);
  }

  /** Sends DATA; with `trailers`, that header block follows and ends this side. */
  write(data: Buffer, trailers?: Buffer): void {
    if (this.open) this.owner.sendData(this, data, trailers !== undefined, trailers);
  }

  /** Sends the last DATA, with END_STREAM. */
  end(data: Buffer): void {
    if (this.open) this.owner.sendData(this, data, true, undefined);
  }

  /**
   * A whole answer at once — headers, one DATA frame of `data` joined, trailers — the way a
   * unary call ends: written as one buffer when flow control allows it (nearly always).
   */
  respondWhole(headers: Buffer, data: readonly Uint8Array[], trailers: Buffer): void {
    if (this.open) this.owner.sendWhole(this, headers, data, trailers);
  }

  /** @internal */ keep(chunk: Buffer): void {
    if (chunk.length) this.chunks.push(chunk);
  }

  /** @internal */ drop(): void {
    this.chunks = [];
  }

  /** @internal */ body(): Buffer {
    const c = this.chunks;
    this.chunks = [];
    return c.length === 1 ? c[0]! : Buffer.concat(c);
  }
}
