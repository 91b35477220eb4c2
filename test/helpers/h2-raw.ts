// A raw HTTP/2 client for tests that must send what no real client would: frames built by
// hand on a plain TCP socket, and the server's frames read back as they come.
import fs from 'node:fs';
import net from 'node:net';
import { encodeHeaders } from '../../shared/h2/hpack.js';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const T = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const F = { END_STREAM: 1, ACK: 1, END_HEADERS: 4, PADDED: 8 } as const;

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** A gRPC request's header block (literal fields, no table). */
export function grpcHeaders(path: string, extra: Array<[string, string]> = []): Buffer {
  return encodeHeaders([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', 'test'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ...extra,
  ]);
}

export interface ReceivedFrame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

/** The whole frames at the start of `buf`, and the bytes after them (a frame not yet complete). */
export function parseFrames(buf: Buffer): { frames: ReceivedFrame[]; rest: Buffer } {
  const frames: ReceivedFrame[] = [];
  let pos = 0;
  while (buf.length - pos >= 9) {
    const len = buf.readUIntBE(pos, 3);
    if (buf.length - pos < 9 + len) break;
    frames.push({ type: buf[pos + 3]!, flags: buf[pos + 4]!, stream: buf.readUInt32BE(pos + 5) & 0x7fffffff, payload: buf.subarray(pos + 9, pos + 9 + len) });
    pos += 9 + len;
  }
  return { frames, rest: buf.subarray(pos) };
}

/** A connection that records every frame the server sends. */
export class RawH2 {
  readonly socket: net.Socket;
  readonly frames: ReceivedFrame[] = [];
  closed = false;
  private buf: Buffer = Buffer.alloc(0);
  private readonly ready: Promise<void>;

  constructor(port: number, host = '127.0.0.1', handshake = true) {
    this.socket = net.connect(port, host);
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('data', (d: Buffer) => {
      const { frames, rest } = parseFrames(Buffer.concat([this.buf, d]));
      this.frames.push(...frames);
      this.buf = rest;
    });
    this.ready = new Promise((resolve) => this.socket.once('connect', () => resolve()));
    if (handshake) this.write(Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0), frame(T.SETTINGS, F.ACK, 0)]));
  }

  connected(): Promise<void> {
    return this.ready;
  }

  /** Writes and resolves once the socket took it (false: the server closed the connection). */
  write(data: Buffer): Promise<boolean> {
    if (this.closed || this.socket.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => this.socket.write(data, (err) => resolve(!err)));
  }

  /** The GOAWAY's error code, if one came. */
  goawayCode(): number | undefined {
    const g = this.frames.find((f) => f.type === T.GOAWAY);
    return g ? g.payload.readUInt32BE(4) : undefined;
  }

  goawayText(): string {
    const g = this.frames.find((f) => f.type === T.GOAWAY);
    return g ? g.payload.subarray(8).toString() : '';
  }

  /** RST_STREAM codes received, by stream. */
  resets(): Map<number, number> {
    return new Map(this.frames.filter((f) => f.type === T.RST_STREAM).map((f) => [f.stream, f.payload.readUInt32BE(0)]));
  }

  async waitFor(ok: () => boolean, timeoutMs = 5_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!ok()) {
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  /** Waits for the server to close the connection. */
  waitClosed(timeoutMs = 5_000): Promise<boolean> {
    return this.waitFor(() => this.closed, timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Resident memory of a process, in bytes (Linux). */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}
