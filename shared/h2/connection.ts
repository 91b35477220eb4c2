// The server side of one HTTP/2 connection (RFC 9113) over cleartext TCP (h2c with prior
// knowledge), for requests that are read whole before they are answered — gRPC calls.
//
// Why by hand: node:http2 backs every stream with native objects that the young-generation GC
// cannot free, so each call promoted ~1 KB to the old generation and a high request rate bought
// a mark-compact every two seconds — the p99 of the whole service. Here a call is a few
// short-lived JavaScript objects, and the answers of one event-loop turn leave in one write.
//
// Layers, as in Go's x/net/http2: frame.ts parses and checks each frame on its own; flow.ts
// keeps the windows; stream.ts the stream states; request-head.ts checks a request's fields;
// this file the connection's state — which streams are idle, open or closed, the header block
// in progress, SETTINGS — and every bound of limits.ts. Errors name the RFC section they come
// from (errors.ts) and go to the peer as GOAWAY or RST_STREAM with the code the RFC asks for.
//
// Not supported: TLS and ALPN, HTTP/1.1 and the h2c upgrade, server push (SETTINGS_ENABLE_PUSH
// from the client is read and ignored), priorities (PRIORITY frames are checked and ignored),
// CONNECT and extended CONNECT (the application refuses the method), answers before the request
// has ended other than errors (the rest of the request is refused with RST_STREAM NO_ERROR).
import { ClosedStreams } from './closed-streams.js';
import { ConnectionError, ErrorCode, StreamError } from './errors.js';
import { ReceiveWindow, SendWindow, INITIAL_WINDOW } from './flow.js';
import {
  DEFAULT_MAX_FRAME_SIZE,
  FRAME_HEADER_BYTES,
  Flag,
  FrameType,
  Setting,
  frameHeader,
  goawayPayload,
  parseFrame,
  readFrameHeader,
  settingsPayload,
  u32,
  writeFrameHeader,
  type Frame,
  type FrameHeader,
} from './frame.js';
import { ByteBudget, TokenBucket } from './guards.js';
import { HpackDecoder, HpackError, encodeHeaders } from './hpack.js';
import { DEFAULT_H2_LIMITS, type H2Limits } from './limits.js';
import { requestHead, trailersProblem } from './request-head.js';
import { ServerStream, StreamState, type StreamOwner } from './stream.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** What this side grants: large windows, so that a request body never waits for credit. */
const STREAM_WINDOW = 1 << 20;
const CONNECTION_WINDOW = 16 << 20;

const TOO_LARGE_HEADERS = encodeHeaders([[':status', '431']]);

/** What a connection needs of its socket (a net.Socket; a fake one in unit tests). */
export interface H2Socket {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error' | 'close' | 'drain', listener: () => void): unknown;
  write(data: Buffer): boolean;
  end(): unknown;
  destroy(): unknown;
  pause(): unknown;
  resume(): unknown;
  readonly writableLength: number;
  setNoDelay?(noDelay: boolean): unknown;
}

export interface H2ConnectionOptions {
  readonly onStream: (stream: ServerStream) => void;
  readonly limits?: H2Limits;
  /** Shared by a server's connections; one of its own when absent. */
  readonly budget?: ByteBudget;
  /** A failure of the application's own code while handling a frame; the connection is ended. */
  readonly onError?: (err: Error) => void;
  /** The peer broke a rule or a bound: the connection (or one stream) was ended for it. */
  readonly onPeerError?: (err: ConnectionError | StreamError) => void;
  readonly now?: () => number;
}

interface HeaderBlock {
  readonly streamId: number;
  /** request: a new stream; trailers: the end of an open one; drop: decode for the table only. */
  readonly kind: 'request' | 'trailers' | 'drop';
  readonly endStream: boolean;
  readonly selfDependent: boolean;
  /** A stream error to raise once the block is decoded (the table must stay in step first). */
  readonly error: StreamError | undefined;
  readonly parts: Buffer[];
  size: number;
  continuations: number;
}

export class H2ServerConnection implements StreamOwner {
  private readonly limits: H2Limits;
  private readonly budget: ByteBudget;
  private readonly now: () => number;
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, ServerStream>();
  /** Recently closed stream ids: true when this side reset them (their late frames are ignored). */
  private readonly closed = new ClosedStreams();
  private input: Buffer | undefined;
  private prefaceSeen = false;
  private settingsSeen = false;
  private settingsAcked = false;
  private readonly createdAt: number;
  private lastActive: number;
  private lastStreamId = 0;
  private peerInitialWindow = INITIAL_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME_SIZE;
  private readonly sendWindow = new SendWindow(INITIAL_WINDOW);
  private readonly receiveWindow = new ReceiveWindow(CONNECTION_WINDOW, INITIAL_WINDOW);
  /** Bytes this connection's streams hold (request bodies, header lists). */
  private held = 0;
  /** Answer bytes waiting for the peer's window: held too, and counted with `held`. */
  private pendingOut = 0;
  private headerBlock: HeaderBlock | undefined;
  private readonly resets: TokenBucket;
  private readonly controlFrames: TokenBucket;
  private emptyFrames = 0;
  /** HEADERS or DATA went out since the last PING came in. */
  private answeredSincePing = false;
  private streamsOpened = 0;
  private earlyResets = 0;
  private idleFrames = 0;
  private work = 0;
  private output: Buffer[] = [];
  private flushScheduled = false;
  private paused = false;
  private goingAway = false;
  private dead = false;
  private readonly prefaceTimer: NodeJS.Timeout;

  constructor(
    private readonly socket: H2Socket,
    private readonly options: H2ConnectionOptions,
  ) {
    this.limits = options.limits ?? DEFAULT_H2_LIMITS;
    this.budget = options.budget ?? new ByteBudget(this.limits.maxBufferedBytes);
    this.now = options.now ?? Date.now;
    this.createdAt = this.lastActive = this.now();
    this.resets = new TokenBucket(this.limits.resetBurst, this.limits.resetsPerSecond);
    this.controlFrames = new TokenBucket(this.limits.controlFrameBurst, this.limits.controlFramesPerSecond);
    socket.setNoDelay?.(true);
    // A connection that is not HTTP/2 within seconds is not a client of ours.
    this.prefaceTimer = setTimeout(() => this.destroy(), this.limits.prefaceTimeoutMs);
    this.prefaceTimer.unref();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
    socket.on('drain', () => this.onDrain());
    this.queueFrame(
      FrameType.SETTINGS,
      0,
      0,
      settingsPayload([
        [Setting.MAX_CONCURRENT_STREAMS, this.limits.maxConcurrentStreams],
        [Setting.INITIAL_WINDOW_SIZE, STREAM_WINDOW],
        [Setting.MAX_HEADER_LIST_SIZE, this.limits.maxHeaderListBytes],
      ]),
    );
    this.queueWindowUpdate(0, this.receiveWindow.creditDue());
  }

  /** GOAWAY: no new streams; the socket ends once the streams in flight are answered. */
  close(): void {
    if (this.goingAway || this.dead) return;
    this.goingAway = true;
    this.queueGoaway(ErrorCode.NO_ERROR, 'server shutting down');
    if (this.streams.size === 0) this.endSocket();
  }

  destroy(): void {
    if (this.dead) return;
    this.die();
    this.socket.destroy();
  }

  /** Called about once a second: request, idle and SETTINGS timeouts. */
  sweep(now = this.now()): void {
    if (this.dead) return;
    const l = this.limits;
    if (this.prefaceSeen && !this.settingsAcked && now - this.createdAt > l.settingsTimeoutMs) {
      return this.fail(new ConnectionError(ErrorCode.SETTINGS_TIMEOUT, '6.5.3', `no SETTINGS ACK within ${l.settingsTimeoutMs} ms`));
    }
    if (this.streams.size === 0) {
      if (now - this.lastActive > l.idleTimeoutMs && !this.goingAway) {
        this.goingAway = true;
        this.queueGoaway(ErrorCode.NO_ERROR, `idle for ${l.idleTimeoutMs} ms`);
        this.endSocket();
      }
      return;
    }
    for (const s of this.streams.values()) {
      if (s.onData) {
        if (now - s.lastFrameAt > l.idleTimeoutMs) this.resetStream(new StreamError(s.id, ErrorCode.CANCEL, '8.1', `no frame on the stream for ${l.idleTimeoutMs} ms`));
      } else if (!s.remoteEnded && now - s.openedAt > l.requestTimeoutMs) {
        this.resetStream(new StreamError(s.id, ErrorCode.CANCEL, '8.1', `the request did not end within ${l.requestTimeoutMs} ms`));
      }
    }
  }

  /** No more reading or writing; every stream is closed. */
  private die(): void {
    this.dead = true;
    clearTimeout(this.prefaceTimer);
    for (const s of this.streams.values()) this.closeStream(s, false);
    this.output = [];
  }

  // --- reading --------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.dead) return;
    let buf = chunk;
    if (this.input && this.prefaceSeen) {
      // A frame was cut at the end of the last chunk: complete it from this one, so that only
      // that frame's bytes are copied, never the whole chunk (a large body arrives in 64 KiB
      // reads, nearly all of them with a frame across the boundary).
      const rest = this.completeFrame(chunk);
      if (rest === undefined) return;
      buf = rest;
    } else if (this.input) {
      buf = Buffer.concat([this.input, chunk]);
      this.input = undefined;
    }
    try {
      if (!this.prefaceSeen) {
        const n = Math.min(buf.length, PREFACE.length);
        if (!buf.subarray(0, n).equals(PREFACE.subarray(0, n))) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '3.4', 'not an HTTP/2 connection preface');
        if (buf.length < PREFACE.length) {
          this.input = buf;
          return;
        }
        this.prefaceSeen = true;
        clearTimeout(this.prefaceTimer);
        buf = buf.subarray(PREFACE.length);
      }
      let pos = 0;
      while (buf.length - pos >= FRAME_HEADER_BYTES) {
        const h = readFrameHeader(buf, pos);
        if (h.length > DEFAULT_MAX_FRAME_SIZE) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, '4.2', `frame of ${h.length} bytes above SETTINGS_MAX_FRAME_SIZE ${DEFAULT_MAX_FRAME_SIZE}`);
        const end = pos + FRAME_HEADER_BYTES + h.length;
        if (buf.length < end) break;
        this.onFrame(h, buf.subarray(pos + FRAME_HEADER_BYTES, end));
        pos = end;
        if (this.dead) return;
      }
      if (pos < buf.length) this.input = Buffer.from(buf.subarray(pos)); // a copy: the chunk may be large
    } catch (err) {
      if (err instanceof ConnectionError) return this.fail(err);
      if (err instanceof HpackError) return this.fail(new ConnectionError(ErrorCode.COMPRESSION_ERROR, '4.3', err.message));
      // A bug above us must not take the process down with it, nor pass unseen.
      this.options.onError?.(err as Error);
      this.fail(new ConnectionError(ErrorCode.INTERNAL_ERROR, '5.4.1', 'internal error'));
    }
  }

  /**
   * Adds to the cut frame kept in `input` what it lacks from `chunk` and handles it once whole;
   * returns the rest of the chunk, or undefined when the frame is still not whole (or the
   * connection died on it).
   */
  private completeFrame(chunk: Buffer): Buffer | undefined {
    let have = this.input!;
    let used = 0;
    if (have.length < FRAME_HEADER_BYTES) {
      used = Math.min(FRAME_HEADER_BYTES - have.length, chunk.length);
      have = Buffer.concat([have, chunk.subarray(0, used)]);
      if (have.length < FRAME_HEADER_BYTES) {
        this.input = have;
        return undefined;
      }
    }
    const length = readFrameHeader(have, 0).length;
    if (length > DEFAULT_MAX_FRAME_SIZE) {
      this.input = undefined;
      // Handled (refused) by the usual path, with the same error.
      return Buffer.concat([have, chunk.subarray(used)]);
    }
    const need = FRAME_HEADER_BYTES + length - have.length;
    if (chunk.length - used < need) {
      this.input = Buffer.concat([have, chunk.subarray(used)]);
      return undefined;
    }
    this.input = undefined;
    const whole = Buffer.concat([have, chunk.subarray(used, used + need)]);
    this.onData(whole); // one frame, exactly: nothing is left over
    return this.dead ? undefined : chunk.subarray(used + need);
  }

  private onFrame(h: FrameHeader, payload: Buffer): void {
    const { type, flags } = h;
    if (!this.settingsSeen) {
      // Section 3.4: the client's preface ends with a SETTINGS frame.
      if (type !== FrameType.SETTINGS || flags & Flag.ACK) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '3.4', 'the preface is not followed by SETTINGS');
      this.settingsSeen = true;
    }
    // Section 6.10: a header block is a contiguous sequence of frames.
    if (this.headerBlock && type !== FrameType.CONTINUATION) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '6.10', `a ${frameName(type)} frame inside the header block of stream ${this.headerBlock.streamId}`);
    }
    let frame: Frame;
    try {
      frame = parseFrame(h, payload);
      this.countEmpty(frame);
      this.dispatch(frame);
    } catch (err) {
      if (err instanceof StreamError) return this.resetStream(err);
      throw err;
    }
  }

  private dispatch(f: Frame): void {
    switch (f.type) {
      case FrameType.DATA:
        return this.onDataFrame(f.streamId, f.endStream, f.data, f.flowLength);
      case FrameType.HEADERS:
        return this.onHeaders(f.streamId, f.endStream, f.endHeaders, f.fragment, f.selfDependent);
      case FrameType.CONTINUATION:
        return this.onContinuation(f.streamId, f.endHeaders, f.fragment);
      case FrameType.PRIORITY:
        return this.countIdleFrame('PRIORITY'); // read and ignored: answers are not scheduled by priority
      case FrameType.RST_STREAM:
        return this.onRstStream(f.streamId);
      case FrameType.SETTINGS:
        if (f.ack) {
          this.settingsAcked = true;
          return;
        }
        return this.onSettings(f.settings);
      case FrameType.PING:
        if (f.ack) return;
        // gRPC clients ping once per answer they receive to size their windows (BDP
        // estimation): a PING after an answer is free, as gRPC's own servers count it; only
        // PINGs with no answer between them draw from the bucket.
        if (this.answeredSincePing) this.answeredSincePing = false;
        else this.spendControl('PING');
        this.queueFrame(FrameType.PING, Flag.ACK, 0, Buffer.from(f.data));
        return;
      case FrameType.GOAWAY:
        // The peer opens nothing new; the calls in flight still complete.
        this.goingAway = true;
        if (this.streams.size === 0) this.endSocket();
        return;
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(f.streamId, f.increment);
      default:
        return; // section 5.5: unknown frame types are ignored
    }
  }

  /** Idle (never opened: above the last id, or even), or closed. */
  private isIdle(streamId: number): boolean {
    return streamId % 2 === 0 || streamId > this.lastStreamId;
  }

  private onDataFrame(streamId: number, endStream: boolean, data: Buffer, flowLength: number): void {
    // Every DATA frame counts against the connection's window, whatever its stream's state.
    if (!this.receiveWindow.receive(flowLength)) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, '6.9.1', 'DATA beyond the connection window');
    this.queueWindowUpdate(0, this.receiveWindow.creditDue());
    const s = this.streams.get(streamId);
    if (!s) {
      if (this.isIdle(streamId)) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '5.1', `DATA on idle stream ${streamId}`);
      if (this.closed.get(streamId)) return; // sent before our RST_STREAM reached the peer
      throw new StreamError(streamId, ErrorCode.STREAM_CLOSED, '5.1', 'DATA on a closed stream');
    }
    if (s.remoteEnded) throw new StreamError(streamId, ErrorCode.STREAM_CLOSED, '5.1', 'DATA after END_STREAM');
    if (!s.receiveWindow.receive(flowLength)) throw new StreamError(streamId, ErrorCode.FLOW_CONTROL_ERROR, '6.9.1', 'DATA beyond the stream window');
    s.dataReceived += data.length;
    const declared = s.head.contentLength;
    if (declared !== undefined && (s.dataReceived > declared || (endStream && s.dataReceived !== declared))) {
      throw new StreamError(streamId, ErrorCode.PROTOCOL_ERROR, '8.1.1', `${s.dataReceived} bytes of DATA against content-length ${declared}`);
    }
    if (s.onData) {
      s.lastFrameAt = this.now();
      if (data.length) s.onData(data);
      if (s.state === StreamState.Closed) return; // the application ended it
    } else this.hold(s, data);
    if (endStream) return this.remoteEnd(s);
    this.queueWindowUpdate(s.id, s.receiveWindow.creditDue());
    // Answered now: waiting for the end of a body this large would hold the stream open.
    if (s.overflowed) this.deliver(s);
  }

  /**
   * Keeps a body chunk until the request ends: one stream may hold maxRequestBodyBytes, a
   * connection maxConnectionBufferedBytes and the server maxBufferedBytes, or the stream
   * overflows — its body is dropped and the application answers early.
   */
  private hold(s: ServerStream, data: Buffer): void {
    if (s.overflowed || data.length === 0) return;
    const l = this.limits;
    if (s.dataReceived > l.maxRequestBodyBytes || this.held + this.pendingOut + data.length > l.maxConnectionBufferedBytes || !this.budget.reserve(data.length)) {
      s.overflowed = true;
      s.drop();
      this.releaseHeld(s);
      return;
    }
    s.held += data.length;
    this.held += data.length;
    s.keep(data);
  }

  private releaseHeld(s: ServerStream): void {
    this.held -= s.held;
    this.budget.release(s.held);
    s.held = 0;
  }

  private onHeaders(streamId: number, endStream: boolean, endHeaders: boolean, fragment: Buffer, selfDependent: boolean): void {
    const s = this.streams.get(streamId);
    let kind: HeaderBlock['kind'] = 'request';
    let error: StreamError | undefined;
    if (s) {
      kind = 'trailers';
      if (s.remoteEnded) error = new StreamError(streamId, ErrorCode.STREAM_CLOSED, '5.1', 'HEADERS after END_STREAM');
      else if (!endStream) error = new StreamError(streamId, ErrorCode.PROTOCOL_ERROR, '8.1', 'a second header block without END_STREAM');
    } else if (streamId % 2 === 0) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '5.1.1', `client stream ${streamId} is even`);
    } else if (streamId <= this.lastStreamId) {
      const resetByUs = this.closed.get(streamId);
      if (resetByUs === undefined) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '5.1.1', `stream ${streamId} is not above the last one opened (${this.lastStreamId})`);
      if (!resetByUs) throw new ConnectionError(ErrorCode.STREAM_CLOSED, '5.1', `HEADERS on closed stream ${streamId}`);
      kind = 'drop'; // trailers sent before our RST_STREAM reached the peer
    }
    this.headerBlock = { streamId, kind, endStream, selfDependent, error, parts: [fragment], size: fragment.length, continuations: 0 };
    this.checkBlockSize(this.headerBlock);
    if (endHeaders) this.onHeaderBlock();
  }

  private onContinuation(streamId: number, endHeaders: boolean, fragment: Buffer): void {
    const hb = this.headerBlock;
    if (!hb) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '6.10', `CONTINUATION on stream ${streamId} without a header block in progress`);
    if (hb.streamId !== streamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '6.10', `CONTINUATION on stream ${streamId} inside the header block of stream ${hb.streamId}`);
    hb.continuations += 1;
    if (hb.continuations > this.limits.maxContinuationFrames) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, '10.5', `more than ${this.limits.maxContinuationFrames} CONTINUATION frames in one header block`);
    }
    hb.parts.push(fragment);
    hb.size += fragment.length;
    this.checkBlockSize(hb);
    if (endHeaders) this.onHeaderBlock();
  }

  private checkBlockSize(hb: HeaderBlock): void {
    if (hb.size > this.limits.maxHeaderBlockBytes) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, '10.5.1', `a header block above ${this.limits.maxHeaderBlockBytes} bytes`);
    }
  }

  private onHeaderBlock(): void {
    const hb = this.headerBlock!;
    this.headerBlock = undefined;
    // Every block goes through the decoder, even a refused stream's: it updates the table.
    const l = this.limits;
    const fields = this.decoder.decode(hb.parts.length === 1 ? hb.parts[0]! : Buffer.concat(hb.parts), l.maxHeaderListBytes, l.maxHeaderFields);
    const listBytes = this.decoder.listBytes;
    if (hb.error) throw hb.error;
    if (hb.kind === 'drop') return;
    if (hb.kind === 'trailers') {
      const s = this.streams.get(hb.streamId);
      if (!s) return; // answered and closed while the block was arriving
      const problem = fields && trailersProblem(fields);
      if (problem) throw new StreamError(s.id, ErrorCode.PROTOCOL_ERROR, '8.1', problem);
      if (s.head.contentLength !== undefined && s.dataReceived !== s.head.contentLength) {
        throw new StreamError(s.id, ErrorCode.PROTOCOL_ERROR, '8.1.1', `${s.dataReceived} bytes of DATA against content-length ${s.head.contentLength}`);
      }
      return this.remoteEnd(s);
    }
    const id = hb.streamId;
    this.lastStreamId = id;
    this.lastActive = this.now();
    this.work += 1;
    this.streamsOpened += 1;
    if (hb.selfDependent) throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, '5.3.1', 'a stream cannot depend on itself');
    if (this.goingAway) throw new StreamError(id, ErrorCode.REFUSED_STREAM, '6.8', 'the connection is going away');
    if (this.streams.size >= l.maxConcurrentStreams) throw new StreamError(id, ErrorCode.REFUSED_STREAM, '5.1.2', `more than ${l.maxConcurrentStreams} concurrent streams`);
    if (!fields) return this.refuseTooLarge(id, hb.endStream, listBytes);
    const head = requestHead(fields);
    if (typeof head === 'string') throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, '8.1.1', head);
    if (this.held + this.pendingOut + listBytes > l.maxConnectionBufferedBytes || !this.budget.reserve(listBytes)) {
      throw new StreamError(id, ErrorCode.REFUSED_STREAM, '10.5', 'the server holds too many unfinished requests');
    }
    if (hb.endStream && head.contentLength !== undefined && head.contentLength !== 0) {
      this.budget.release(listBytes);
      throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, '8.1.1', `no DATA against content-length ${head.contentLength}`);
    }
    const s = new ServerStream(id, this, fields, head, this.peerInitialWindow, STREAM_WINDOW, this.lastActive);
    s.held = listBytes;
    this.held += listBytes;
    this.streams.set(id, s);
    this.options.onStream(s);
    if (hb.endStream && s.state === StreamState.Open) this.remoteEnd(s);
  }

  /** Section 10.5.1: a header list above the advertised size is answered 431, never kept. */
  private refuseTooLarge(id: number, endStream: boolean, listBytes: number): void {
    this.options.onPeerError?.(new StreamError(id, ErrorCode.REFUSED_STREAM, '10.5.1', `a header list of ${listBytes} bytes (limit ${this.limits.maxHeaderListBytes} bytes, ${this.limits.maxHeaderFields} fields)`));
    this.queueFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, TOO_LARGE_HEADERS);
    if (!endStream) this.queueFrame(FrameType.RST_STREAM, 0, id, u32(ErrorCode.NO_ERROR));
    this.closed.add(id, true);
  }

  private onRstStream(streamId: number): void {
    const s = this.streams.get(streamId);
    if (!s) {
      if (this.isIdle(streamId)) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '6.4', `RST_STREAM on idle stream ${streamId}`);
      return; // closed already: both sides gave up at once
    }
    // Resetting streams before they are answered costs the peer nothing and this side the
    // work already started: past a burst, and for most of the streams the peer opened, that is
    // the rapid-reset attack (CVE-2023-44487). A client that gives up on a few calls in a
    // hundred (Envoy, when its own callers go away) is far from both. A streaming call that has
    // been answered (Envoy resets an ext_proc stream once its HTTP call is over) is not early.
    if (!s.localEnded && !s.answered) {
      this.earlyResets += 1;
      if (!this.resets.take() && this.earlyResets * 2 > this.streamsOpened) {
        throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, '10.5', `rapid reset: ${this.earlyResets} of ${this.streamsOpened} streams reset before their answer (allowed: ${this.limits.resetBurst}, then ${this.limits.resetsPerSecond}/s, or under half)`);
      }
    }
    this.closeStream(s, false);
  }

  private onSettings(settings: ReadonlyArray<readonly [number, number]>): void {
    this.spendControl('SETTINGS');
    for (const [id, value] of settings) {
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        // Section 6.9.2: every stream's window moves by the difference, and may go negative.
        const delta = value - this.peerInitialWindow;
        for (const s of this.streams.values()) {
          if (!s.sendWindow.grow(delta)) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, '6.9.2', `SETTINGS_INITIAL_WINDOW_SIZE ${value} takes stream ${s.id}'s window above 2^31-1`);
        }
        this.peerInitialWindow = value;
      } else if (id === Setting.MAX_FRAME_SIZE) {
        this.peerMaxFrame = value;
      }
      // HEADER_TABLE_SIZE: this side's encoder never uses the dynamic table. ENABLE_PUSH:
      // this side never pushes. MAX_CONCURRENT_STREAMS, MAX_HEADER_LIST_SIZE: this side opens
      // no streams, and its answers are a few small fields. Unknown ones: ignored (6.5.2).
    }
    this.queueFrame(FrameType.SETTINGS, Flag.ACK, 0, Buffer.alloc(0));
    this.flushPending();
  }

  private onWindowUpdate(streamId: number, increment: number): void {
    this.countIdleFrame('WINDOW_UPDATE');
    if (streamId === 0) {
      if (!this.sendWindow.grow(increment)) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, '6.9.1', 'the connection window above 2^31-1');
      this.flushPending();
      return;
    }
    const s = this.streams.get(streamId);
    if (!s) {
      if (this.isIdle(streamId)) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '5.1', `WINDOW_UPDATE on idle stream ${streamId}`);
      return; // closed: credit that arrived after the answer
    }
    if (!s.sendWindow.grow(increment)) throw new StreamError(streamId, ErrorCode.FLOW_CONTROL_ERROR, '6.9.1', 'the stream window above 2^31-1');
    this.sendPending(s);
  }

  /** PING and SETTINGS must each be answered: past the bucket, that is a flood (CVE-2019-9512/9515). */
  private spendControl(kind: string): void {
    if (!this.controlFrames.take()) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, '10.5', `${kind} flood: more than ${this.limits.controlFrameBurst} control frames (then ${this.limits.controlFramesPerSecond}/s)`);
    }
  }

  /** Frames that carry nothing, in a row (CVE-2019-9518): DATA or CONTINUATION with no bytes and no end. */
  private countEmpty(f: Frame): void {
    const empty =
      (f.type === FrameType.DATA && f.data.length === 0 && !f.endStream) ||
      ((f.type === FrameType.CONTINUATION || f.type === FrameType.HEADERS) && f.fragment.length === 0 && !f.endHeaders);
    if (!empty) {
      this.emptyFrames = 0;
      return;
    }
    this.emptyFrames += 1;
    if (this.emptyFrames > this.limits.maxEmptyFrames) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, '10.5', `more than ${this.limits.maxEmptyFrames} empty frames in a row`);
    }
  }

  /** WINDOW_UPDATE and PRIORITY cost the peer nothing; they are allowed in proportion to work done (CVE-2019-9513). */
  private countIdleFrame(kind: string): void {
    this.idleFrames += 1;
    if (this.idleFrames > this.limits.maxIdleFramesPerWork * (1 + this.work)) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, '10.5', `${kind} flood: more than ${this.limits.maxIdleFramesPerWork} per stream opened or DATA frame sent`);
    }
  }

  private remoteEnd(s: ServerStream): void {
    s.state = StreamState.HalfClosedRemote;
    this.deliver(s);
  }

  /** Hands the request over, once (the body is empty for an overflowed stream). */
  private deliver(s: ServerStream): void {
    const onEnd = s.onEnd;
    s.onEnd = undefined;
    const body = s.body();
    this.releaseHeld(s);
    onEnd?.(body);
  }

  /** A connection error: GOAWAY with its code, then the connection ends. */
  private fail(err: ConnectionError): void {
    if (this.dead) return;
    this.options.onPeerError?.(err);
    this.queueGoaway(err.code, err.message);
    this.flush();
    this.die();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1_000).unref();
  }

  /** A stream error: RST_STREAM with its code; the connection goes on. */
  private resetStream(err: StreamError): void {
    this.options.onPeerError?.(err);
    // Each RST_STREAM is an answer the peer made this side write: it counts as a control frame.
    if (!this.controlFrames.take()) {
      return this.fail(new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, '10.5', `more than ${this.limits.controlFrameBurst} stream errors (then ${this.limits.controlFramesPerSecond}/s)`));
    }
    this.queueFrame(FrameType.RST_STREAM, 0, err.streamId, u32(err.code));
    const s = this.streams.get(err.streamId);
    if (s) this.closeStream(s, true);
    else this.closed.add(err.streamId, true);
  }

  // --- writing --------------------------------------------------------------------------

  sendHeaders(s: ServerStream, block: Buffer, end: boolean): void {
    this.answeredSincePing = true;
    s.answered = true;
    this.queueFrame(FrameType.HEADERS, Flag.END_HEADERS | (end ? Flag.END_STREAM : 0), s.id, block);
    if (end) this.localEnd(s);
  }

  sendData(s: ServerStream, data: Buffer, end: boolean, trailers: Buffer | undefined): void {
    this.answeredSincePing = true;
    s.pending.push({ data, end, trailers });
    this.holdOut(data.length);
    if (end) s.localEnded = true; // nothing more may be written; the stream closes when it is sent
    this.sendPending(s);
  }

  /**
   * Answers that wait for the peer's window are held like request bytes: a peer that opens no
   * window gets its further streams refused, never more memory.
   */
  private holdOut(n: number): void {
    this.pendingOut += n;
    this.budget.add(n);
  }

  sendWhole(s: ServerStream, headers: Buffer, data: readonly Uint8Array[], trailers: Buffer): void {
    let dataLength = 0;
    for (const d of data) dataLength += d.length;
    const fits = dataLength <= Math.min(s.sendWindow.available, this.sendWindow.available, this.peerMaxFrame) && s.pending.length === 0;
    if (!fits) {
      this.sendHeaders(s, headers, false);
      this.sendData(s, Buffer.concat(data), true, trailers);
      return;
    }
    const out = Buffer.allocUnsafe(3 * FRAME_HEADER_BYTES + headers.length + dataLength + trailers.length);
    let pos = writeFrameHeader(out, 0, headers.length, FrameType.HEADERS, Flag.END_HEADERS, s.id);
    pos += headers.copy(out, pos);
    pos = writeFrameHeader(out, pos, dataLength, FrameType.DATA, 0, s.id);
    for (const d of data) {
      out.set(d, pos);
      pos += d.length;
    }
    pos = writeFrameHeader(out, pos, trailers.length, FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, s.id);
    trailers.copy(out, pos);
    s.sendWindow.take(dataLength);
    this.sendWindow.take(dataLength);
    this.work += 1;
    this.answeredSincePing = true;
    this.queue(out);
    this.localEnd(s);
  }

  /** Sends what flow control allows of the stream's pending DATA, then its end or trailers. */
  private sendPending(s: ServerStream): void {
    while (s.pending.length && s.state !== StreamState.Closed) {
      const item = s.pending[0]!;
      while (item.data.length > 0) {
        const n = Math.min(item.data.length, s.sendWindow.available, this.sendWindow.available, this.peerMaxFrame);
        if (n <= 0) return; // waits for WINDOW_UPDATE
        const last = n === item.data.length && item.end && !item.trailers;
        this.queueFrame(FrameType.DATA, last ? Flag.END_STREAM : 0, s.id, item.data.subarray(0, n));
        item.data = item.data.subarray(n);
        s.sendWindow.take(n);
        this.sendWindow.take(n);
        this.holdOut(-n);
        this.work += 1;
        if (last) {
          s.pending.shift();
          return this.localEnd(s);
        }
      }
      s.pending.shift();
      if (item.trailers) {
        this.queueFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, s.id, item.trailers);
        return this.localEnd(s);
      }
      if (item.end) {
        this.queueFrame(FrameType.DATA, Flag.END_STREAM, s.id, Buffer.alloc(0));
        return this.localEnd(s);
      }
    }
  }

  private flushPending(): void {
    for (const s of this.streams.values()) if (s.pending.length) this.sendPending(s);
  }

  /** END_STREAM was queued: the stream closes (this side never waits in half-closed (local)). */
  private localEnd(s: ServerStream): void {
    // Section 8.1: answered before the request ended (an error, a body too large): the rest
    // of the request is not wanted.
    if (!s.remoteEnded) {
      this.queueFrame(FrameType.RST_STREAM, 0, s.id, u32(ErrorCode.NO_ERROR));
      return this.closeStream(s, true);
    }
    this.closeStream(s, false);
  }

  private closeStream(s: ServerStream, resetByUs: boolean): void {
    if (s.state === StreamState.Closed) return;
    s.state = StreamState.Closed;
    s.drop();
    this.holdOut(-s.pending.reduce((n, p) => n + p.data.length, 0));
    s.pending = [];
    this.releaseHeld(s);
    this.streams.delete(s.id);
    this.closed.add(s.id, resetByUs);
    this.lastActive = this.now();
    const onClose = s.onClose;
    s.onClose = undefined;
    onClose?.();
    if (this.goingAway && this.streams.size === 0) this.endSocket();
  }

  private endSocket(): void {
    this.flush();
    if (!this.dead) this.socket.end();
  }

  private queueGoaway(code: number, debug: string): void {
    this.queueFrame(FrameType.GOAWAY, 0, 0, goawayPayload(this.lastStreamId, code, debug));
  }

  private queueWindowUpdate(streamId: number, increment: number): void {
    if (increment > 0) this.queueFrame(FrameType.WINDOW_UPDATE, 0, streamId, u32(increment));
  }

  private queueFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    this.queue(frameHeader(payload.length, type, flags, streamId), payload);
  }

  private queue(...buffers: Buffer[]): void {
    if (this.dead) return;
    for (const b of buffers) this.output.push(b);
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
    this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    // A peer that does not read its answers is not read either, until it has taken them.
    if (!this.paused && this.socket.writableLength > this.limits.maxOutputBufferBytes) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private onDrain(): void {
    if (!this.paused || this.dead) return;
    this.paused = false;
    this.socket.resume();
  }
}

function frameName(type: number): string {
  return Object.entries(FrameType).find(([, t]) => t === type)?.[0] ?? `type ${type}`;
}
