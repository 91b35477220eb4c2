// The server side of one HTTP/2 connection (RFC 9113) in plain JavaScript, for gRPC calls
// whose request is read whole before it is answered.
//
// Why by hand: node:http2 backs every stream with native objects that the young-generation
// GC cannot free, so each call promoted ~1 KB to the old generation and a request rate of
// 10k/s bought a 15–25 ms mark-compact every two seconds — the p99 of the whole service.
// Here a call is a few short-lived JavaScript objects, and the answers of one event-loop turn
// leave in one socket write.
//
// What it does: the preface and SETTINGS exchange, PING, WINDOW_UPDATE and flow control in
// both directions, HEADERS + CONTINUATION through one HPACK decoder per connection, padding,
// RST_STREAM, GOAWAY (graceful close drains the streams in flight), and bounds: concurrent
// streams, bytes of unfinished request bodies per connection, seconds to send the preface.
// What it does not: server push, priorities (read and ignored), HTTP/1.1 or TLS.
import type net from 'node:net';
import { HpackDecoder, HpackError, type HeaderList } from './hpack.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const enum Frame {
  DATA = 0,
  HEADERS = 1,
  PRIORITY = 2,
  RST_STREAM = 3,
  SETTINGS = 4,
  PUSH_PROMISE = 5,
  PING = 6,
  GOAWAY = 7,
  WINDOW_UPDATE = 8,
  CONTINUATION = 9,
}

const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY_FLAG = 0x20;

const H2Error = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  COMPRESSION_ERROR: 9,
} as const;

const SETTINGS_INITIAL_WINDOW_SIZE = 4;
const SETTINGS_MAX_FRAME_SIZE = 5;

/** What this side advertises and how it credits the peer's sending back. */
const MAX_FRAME_SIZE = 16_384; // the protocol's default: frames above it are refused
const MAX_CONCURRENT_STREAMS = 1_000;
const STREAM_WINDOW = 1 << 20;
const CONNECTION_WINDOW = 16 << 20;
const MAX_HEADER_BLOCK = 64 * 1024;
const PREFACE_TIMEOUT_MS = 10_000;
export const MAX_HELD_BYTES = 32 << 20;

class ProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** One request stream as the application sees it. */
export class ServerStream {
  /** Called once, when the request has ended (or grew past the limit: see `overflowed`). */
  onEnd: ((body: Buffer) => void) | undefined;
  /** Called once, when the stream closes for any reason (answered, reset, connection gone). */
  onClose: (() => void) | undefined;
  overflowed = false;
  /** @internal */ released = false;
  private chunks: Buffer[] = [];
  received = 0;
  consumedSinceCredit = 0;
  remoteEnded = false;
  localEnded = false;
  closed = false;
  sendWindow: number;
  /** DATA (and the trailers after it) waiting for flow-control credit. */
  pending: Array<{ data: Buffer; trailers?: Buffer }> = [];

  constructor(
    readonly id: number,
    private readonly connection: H2ServerConnection,
    /** The request's header block as decoded, pseudo-headers included. */
    private readonly headers: HeaderList,
    sendWindow: number,
  ) {
    this.sendWindow = sendWindow;
  }

  /** A request header's first value (a scan: a gRPC request has about ten). */
  header(name: string): string | undefined {
    for (const h of this.headers) if (h[0] === name) return h[1];
    return undefined;
  }

  get open(): boolean {
    return !this.closed && !this.localEnded;
  }

  /** Sends a header block (encoded by hpack.ts); `end` closes this side with it. */
  respond(block: Buffer, end: boolean): void {
    if (!this.open) return;
    this.connection.sendHeaders(this, block, end);
  }

  /** Sends DATA; with `trailers`, that header block follows and ends this side. */
  write(data: Buffer, trailers?: Buffer): void {
    if (!this.open) return;
    this.connection.sendData(this, data, trailers);
  }

  /**
   * A whole answer at once — headers, one DATA frame of `data` joined, trailers — the way a
   * unary call ends: written as one buffer when flow control allows it (nearly always).
   */
  respondWhole(headers: Buffer, data: readonly Uint8Array[], trailers: Buffer): void {
    if (!this.open) return;
    this.connection.sendWhole(this, headers, data, trailers);
  }

  /** @internal */ addData(chunk: Buffer, limit: number): void {
    if (this.overflowed) return;
    this.received += chunk.length;
    if (this.received > limit) {
      this.overflowed = true;
      this.chunks = [];
      return;
    }
    if (chunk.length) this.chunks.push(chunk);
  }

  /** @internal */ body(): Buffer {
    const c = this.chunks;
    this.chunks = [];
    return c.length === 1 ? c[0]! : Buffer.concat(c);
  }
}

export interface H2ConnectionOptions {
  /** A request body above this many bytes is not kept; the stream ends `overflowed`. */
  readonly maxBodyBytes: number;
  readonly onStream: (stream: ServerStream) => void;
  /** A failure of the application's own code while handling a frame; the connection is ended. */
  readonly onError?: (err: Error) => void;
}

export class H2ServerConnection {
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, ServerStream>();
  private input: Buffer | undefined;
  private prefaceSeen = false;
  private lastStreamId = 0;
  private peerInitialWindow = 65_535;
  private peerMaxFrame = 16_384;
  private sendWindow = 65_535;
  private recvConsumed = 0;
  /** Bytes of unfinished request bodies this connection holds. */
  private held = 0;
  private headerBlock: { streamId: number; flags: number; parts: Buffer[]; size: number } | undefined;
  private output: Buffer[] = [];
  private flushScheduled = false;
  private goingAway = false;
  private dead = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly options: H2ConnectionOptions,
  ) {
    socket.setNoDelay(true);
    // A connection that is not HTTP/2 within seconds is not a client of ours.
    socket.setTimeout(PREFACE_TIMEOUT_MS, () => this.fail(H2Error.PROTOCOL_ERROR));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(3, 0); // SETTINGS_MAX_CONCURRENT_STREAMS
    settings.writeUInt32BE(MAX_CONCURRENT_STREAMS, 2);
    settings.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(STREAM_WINDOW, 8);
    this.queueFrame(Frame.SETTINGS, 0, 0, settings);
    this.queueWindowUpdate(0, CONNECTION_WINDOW - 65_535);
  }

  /** GOAWAY: no new streams; the socket ends once the streams in flight are answered. */
  close(): void {
    if (this.goingAway || this.dead) return;
    this.goingAway = true;
    this.queueGoaway(H2Error.NO_ERROR);
    if (this.streams.size === 0) this.endSocket();
  }

  destroy(): void {
    if (this.dead) return;
    this.die();
    this.socket.destroy();
  }

  /** No more reading or writing; every stream is closed. */
  private die(): void {
    this.dead = true;
    for (const s of this.streams.values()) this.closeStream(s);
  }

  // --- reading --------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.dead) return;
    let buf = this.input ? Buffer.concat([this.input, chunk]) : chunk;
    this.input = undefined;
    try {
      if (!this.prefaceSeen) {
        if (buf.length < PREFACE.length) {
          if (!PREFACE.subarray(0, buf.length).equals(buf)) throw new ProtocolError(H2Error.PROTOCOL_ERROR, 'not an HTTP/2 connection preface');
          this.input = buf;
          return;
        }
        if (!buf.subarray(0, PREFACE.length).equals(PREFACE)) throw new ProtocolError(H2Error.PROTOCOL_ERROR, 'not an HTTP/2 connection preface');
        this.prefaceSeen = true;
        this.socket.setTimeout(0);
        buf = buf.subarray(PREFACE.length);
      }
      let pos = 0;
      while (buf.length - pos >= 9) {
        const length = buf.readUIntBE(pos, 3);
        if (length > MAX_FRAME_SIZE) throw new ProtocolError(H2Error.FRAME_SIZE_ERROR, `frame of ${length} bytes above ${MAX_FRAME_SIZE}`);
        if (buf.length - pos < 9 + length) break;
        const type = buf[pos + 3]!;
        const flags = buf[pos + 4]!;
        const streamId = buf.readUInt32BE(pos + 5) & 0x7fffffff;
        this.onFrame(type, flags, streamId, buf.subarray(pos + 9, pos + 9 + length));
        pos += 9 + length;
        if (this.dead) return;
      }
      if (pos < buf.length) this.input = Buffer.from(buf.subarray(pos)); // a copy: the chunk may be large
    } catch (err) {
      if (err instanceof ProtocolError) return this.fail(err.code);
      if (err instanceof HpackError) return this.fail(H2Error.COMPRESSION_ERROR);
      // A bug above us must not take the process down with it, nor pass unseen.
      this.options.onError?.(err as Error);
      this.fail(H2Error.INTERNAL_ERROR);
    }
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.headerBlock && type !== Frame.CONTINUATION) throw new ProtocolError(H2Error.PROTOCOL_ERROR, 'expected CONTINUATION');
    switch (type) {
      case Frame.DATA:
        return this.onDataFrame(flags, streamId, payload);
      case Frame.HEADERS:
        return this.onHeadersFrame(flags, streamId, payload);
      case Frame.CONTINUATION:
        return this.onContinuation(flags, streamId, payload);
      case Frame.RST_STREAM: {
        const s = this.streams.get(streamId);
        if (s) this.closeStream(s);
        return;
      }
      case Frame.SETTINGS:
        return this.onSettings(flags, streamId, payload);
      case Frame.PING:
        if (payload.length !== 8) throw new ProtocolError(H2Error.FRAME_SIZE_ERROR, 'PING of the wrong size');
        if (!(flags & ACK)) this.queueFrame(Frame.PING, ACK, 0, Buffer.from(payload));
        return;
      case Frame.WINDOW_UPDATE:
        return this.onWindowUpdate(streamId, payload);
      case Frame.GOAWAY:
        this.goingAway = true; // the peer opens nothing new; calls in flight still complete
        if (this.streams.size === 0) this.endSocket();
        return;
      case Frame.PUSH_PROMISE:
        throw new ProtocolError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      default:
        return; // PRIORITY and unknown frame types are ignored, as the protocol asks
    }
  }

  private onDataFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ProtocolError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0');
    this.credit(payload.length);
    const s = this.streams.get(streamId);
    if (!s || s.remoteEnded) return; // a stream already answered or reset: its data is dropped
    const data = flags & PADDED ? unpad(payload) : payload;
    // Bodies are kept whole until they end: one stream may hold maxBodyBytes, and all of a
    // connection's unfinished bodies together MAX_HELD_BYTES, or the stream is refused.
    const limit = Math.min(this.options.maxBodyBytes, s.received + MAX_HELD_BYTES - this.held);
    const before = s.received;
    const wasOverflowed = s.overflowed;
    s.addData(data, limit);
    if (!wasOverflowed) this.held += s.overflowed ? -before : data.length;
    s.consumedSinceCredit += payload.length;
    if (flags & END_STREAM) return this.remoteEnd(s);
    // Answered now: waiting for the end of a body this large would hold the stream open.
    if (s.overflowed) return this.deliver(s);
    if (s.consumedSinceCredit >= STREAM_WINDOW / 2) {
      this.queueWindowUpdate(s.id, s.consumedSinceCredit);
      s.consumedSinceCredit = 0;
    }
  }

  /** The stream's body left the connection's hands (handed over, or dropped). */
  private release(s: ServerStream): void {
    if (s.released) return;
    s.released = true;
    if (!s.overflowed) this.held -= s.received; // an overflowed body was let go when it overflowed
  }

  /** Connection-level credit, sent in large steps. */
  private credit(bytes: number): void {
    this.recvConsumed += bytes;
    if (this.recvConsumed >= CONNECTION_WINDOW / 2) {
      this.queueWindowUpdate(0, this.recvConsumed);
      this.recvConsumed = 0;
    }
  }

  private onHeadersFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ProtocolError(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let fragment = flags & PADDED ? unpad(payload) : payload;
    if (flags & PRIORITY_FLAG) fragment = fragment.subarray(5);
    this.headerBlock = { streamId, flags, parts: [fragment], size: fragment.length };
    if (flags & END_HEADERS) this.onHeaderBlock();
  }

  private onContinuation(flags: number, streamId: number, payload: Buffer): void {
    const hb = this.headerBlock;
    if (!hb || hb.streamId !== streamId) throw new ProtocolError(H2Error.PROTOCOL_ERROR, 'unexpected CONTINUATION');
    hb.parts.push(payload);
    hb.size += payload.length;
    if (hb.size > MAX_HEADER_BLOCK) throw new ProtocolError(H2Error.PROTOCOL_ERROR, 'header block too large');
    if (flags & END_HEADERS) this.onHeaderBlock();
  }

  private onHeaderBlock(): void {
    const { streamId, flags, parts } = this.headerBlock!;
    this.headerBlock = undefined;
    // Every block goes through the decoder, even a refused stream's: it updates the table.
    const headers = this.decoder.decode(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    const existing = this.streams.get(streamId);
    if (existing) {
      // Trailers from the client: nothing in them is used; they must end the request.
      if (!(flags & END_STREAM)) throw new ProtocolError(H2Error.PROTOCOL_ERROR, 'a second header block without END_STREAM');
      if (!existing.remoteEnded) this.remoteEnd(existing);
      return;
    }
    if (streamId % 2 === 0 || streamId <= this.lastStreamId) {
      if (streamId % 2 === 0) throw new ProtocolError(H2Error.PROTOCOL_ERROR, `client stream ${streamId} is even`);
      return; // trailers of a stream already closed
    }
    this.lastStreamId = streamId;
    if (this.goingAway || this.streams.size >= MAX_CONCURRENT_STREAMS) {
      this.queueFrame(Frame.RST_STREAM, 0, streamId, u32(H2Error.REFUSED_STREAM));
      return;
    }
    const s = new ServerStream(streamId, this, headers, this.peerInitialWindow);
    this.streams.set(streamId, s);
    this.options.onStream(s);
    if (flags & END_STREAM) this.remoteEnd(s);
  }

  private remoteEnd(s: ServerStream): void {
    s.remoteEnded = true;
    this.release(s);
    if (s.localEnded) return this.closeStream(s);
    this.deliver(s);
  }

  /** Hands the request over, once (the body is empty for an overflowed stream). */
  private deliver(s: ServerStream): void {
    const onEnd = s.onEnd;
    s.onEnd = undefined;
    onEnd?.(s.body());
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new ProtocolError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & ACK) return;
    if (payload.length % 6) throw new ProtocolError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS of the wrong size');
    for (let i = 0; i < payload.length; i += 6) {
      const id = payload.readUInt16BE(i);
      const value = payload.readUInt32BE(i + 2);
      if (id === SETTINGS_INITIAL_WINDOW_SIZE) {
        if (value > 0x7fffffff) throw new ProtocolError(H2Error.FLOW_CONTROL_ERROR, 'initial window too large');
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) s.sendWindow += delta;
      } else if (id === SETTINGS_MAX_FRAME_SIZE) {
        if (value < 16_384 || value > 16_777_215) throw new ProtocolError(H2Error.PROTOCOL_ERROR, 'invalid max frame size');
        this.peerMaxFrame = value;
      }
    }
    this.queueFrame(Frame.SETTINGS, ACK, 0, Buffer.alloc(0));
    this.flushPending();
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ProtocolError(H2Error.FRAME_SIZE_ERROR, 'WINDOW_UPDATE of the wrong size');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      this.sendWindow += increment;
      this.flushPending();
      return;
    }
    const s = this.streams.get(streamId);
    if (!s) return;
    s.sendWindow += increment;
    this.sendPending(s);
  }

  /** A connection error: GOAWAY with its code, then the connection ends. */
  private fail(code: number): void {
    this.queueGoaway(code);
    this.flush();
    this.die();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1_000).unref();
  }

  // --- writing --------------------------------------------------------------------------

  /** @internal */ sendHeaders(s: ServerStream, block: Buffer, end: boolean): void {
    this.queueFrame(Frame.HEADERS, END_HEADERS | (end ? END_STREAM : 0), s.id, block);
    if (end) this.localEnd(s);
  }

  /** @internal */ sendData(s: ServerStream, data: Buffer, trailers?: Buffer): void {
    s.pending.push(trailers ? { data, trailers } : { data });
    this.sendPending(s);
  }

  /** @internal */ sendWhole(s: ServerStream, headers: Buffer, data: readonly Uint8Array[], trailers: Buffer): void {
    let dataLength = 0;
    for (const d of data) dataLength += d.length;
    const fits = dataLength <= Math.min(s.sendWindow, this.sendWindow, this.peerMaxFrame) && s.pending.length === 0;
    if (!fits) {
      this.sendHeaders(s, headers, false);
      this.sendData(s, Buffer.concat(data), trailers);
      return;
    }
    const out = Buffer.allocUnsafe(27 + headers.length + dataLength + trailers.length);
    let pos = writeFrameHeader(out, 0, headers.length, Frame.HEADERS, END_HEADERS, s.id);
    pos += headers.copy(out, pos);
    pos = writeFrameHeader(out, pos, dataLength, Frame.DATA, 0, s.id);
    for (const d of data) {
      out.set(d, pos);
      pos += d.length;
    }
    pos = writeFrameHeader(out, pos, trailers.length, Frame.HEADERS, END_HEADERS | END_STREAM, s.id);
    trailers.copy(out, pos);
    s.sendWindow -= dataLength;
    this.sendWindow -= dataLength;
    this.queue(out);
    this.localEnd(s);
  }

  /** Sends what flow control allows of the stream's pending DATA, then its trailers. */
  private sendPending(s: ServerStream): void {
    while (s.pending.length && !s.closed) {
      const item = s.pending[0]!;
      while (item.data.length > 0) {
        const n = Math.min(item.data.length, s.sendWindow, this.sendWindow, this.peerMaxFrame);
        if (n <= 0) return; // waits for WINDOW_UPDATE
        this.queueFrame(Frame.DATA, 0, s.id, item.data.subarray(0, n));
        item.data = item.data.subarray(n);
        s.sendWindow -= n;
        this.sendWindow -= n;
      }
      s.pending.shift();
      if (item.trailers) {
        this.queueFrame(Frame.HEADERS, END_HEADERS | END_STREAM, s.id, item.trailers);
        this.localEnd(s);
        return;
      }
    }
  }

  private flushPending(): void {
    for (const s of this.streams.values()) if (s.pending.length) this.sendPending(s);
  }

  private localEnd(s: ServerStream): void {
    s.localEnded = true;
    // Answered before the request ended (an error, a body too large): the rest is not wanted.
    if (!s.remoteEnded) this.queueFrame(Frame.RST_STREAM, 0, s.id, u32(H2Error.NO_ERROR));
    this.closeStream(s);
  }

  private closeStream(s: ServerStream): void {
    if (s.closed) return;
    s.closed = true;
    s.pending = [];
    this.release(s);
    this.streams.delete(s.id);
    const onClose = s.onClose;
    s.onClose = undefined;
    onClose?.();
    if (this.goingAway && this.streams.size === 0) this.endSocket();
  }

  private endSocket(): void {
    this.flush();
    if (!this.dead) this.socket.end();
  }

  private queueGoaway(code: number): void {
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(this.lastStreamId, 0);
    payload.writeUInt32BE(code, 4);
    this.queueFrame(Frame.GOAWAY, 0, 0, payload);
  }

  private queueWindowUpdate(streamId: number, increment: number): void {
    this.queueFrame(Frame.WINDOW_UPDATE, 0, streamId, u32(increment));
  }

  private queueFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    const header = Buffer.allocUnsafe(9);
    writeFrameHeader(header, 0, payload.length, type, flags, streamId);
    this.queue(header, payload);
  }

  private queue(...buffers: Buffer[]): void {
    this.output.push(...buffers);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // After the microtasks of this turn: the answers resolved together leave in one write.
      process.nextTick(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.output.length === 0 || this.dead) return;
    const out = this.output;
    this.output = [];
    this.socket.write(Buffer.concat(out));
  }
}

/** Writes a 9-byte frame header at `pos`; returns where the payload goes. */
function writeFrameHeader(out: Buffer, pos: number, length: number, type: number, flags: number, streamId: number): number {
  out.writeUIntBE(length, pos, 3);
  out[pos + 3] = type;
  out[pos + 4] = flags;
  out.writeUInt32BE(streamId, pos + 5);
  return pos + 9;
}

function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

function unpad(payload: Buffer): Buffer {
  if (payload.length < 1) throw new ProtocolError(H2Error.PROTOCOL_ERROR, 'padded frame without a pad length');
  const pad = payload[0]!;
  if (pad >= payload.length) throw new ProtocolError(H2Error.PROTOCOL_ERROR, 'padding longer than the frame');
  return payload.subarray(1, payload.length - pad);
}
