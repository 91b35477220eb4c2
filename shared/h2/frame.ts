// HTTP/2 frames (RFC 9113 sections 4 and 6): the 9-byte header, and each frame type's payload
// parsed and checked on its own — lengths, stream 0 or not, padding, setting values — before
// the connection sees it. A frame that breaks a rule of its own section never reaches stream
// state; what depends on state (idle, open, closed streams) is the connection's to check.
import { ConnectionError, ErrorCode, StreamError } from './errors.js';
import { MAX_WINDOW } from './flow.js';

export const FRAME_HEADER_BYTES = 9;
/** SETTINGS_MAX_FRAME_SIZE's initial value (section 4.2); this side advertises no other. */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const MAX_ALLOWED_FRAME_SIZE = 16_777_215;

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

export interface FrameHeader {
  readonly length: number;
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
}

/** Section 4.1; the reserved bit of the stream identifier is ignored, as it asks. */
export function readFrameHeader(buf: Buffer, pos: number): FrameHeader {
  return {
    length: buf.readUIntBE(pos, 3),
    type: buf[pos + 3]!,
    flags: buf[pos + 4]!,
    streamId: buf.readUInt32BE(pos + 5) & 0x7fffffff,
  };
}

export type Frame =
  | { readonly type: 0x0; readonly streamId: number; readonly endStream: boolean; readonly data: Buffer; readonly flowLength: number }
  | {
      readonly type: 0x1;
      readonly streamId: number;
      readonly endStream: boolean;
      readonly endHeaders: boolean;
      readonly fragment: Buffer;
      /** Section 5.3.1: a stream cannot depend on itself (a stream error, after decoding). */
      readonly selfDependent: boolean;
    }
  | { readonly type: 0x2; readonly streamId: number }
  | { readonly type: 0x3; readonly streamId: number; readonly code: number }
  | { readonly type: 0x4; readonly ack: boolean; readonly settings: ReadonlyArray<readonly [number, number]> }
  | { readonly type: 0x6; readonly ack: boolean; readonly data: Buffer }
  | { readonly type: 0x7; readonly lastStreamId: number; readonly code: number }
  | { readonly type: 0x8; readonly streamId: number; readonly increment: number }
  | { readonly type: 0x9; readonly streamId: number; readonly endHeaders: boolean; readonly fragment: Buffer }
  | { readonly type: 'unknown' };

const UNKNOWN: Frame = { type: 'unknown' };

/**
 * A frame from a client, checked against its own section's rules. Throws ConnectionError or
 * StreamError for a frame that breaks one. Unknown types are returned as such, to be ignored
 * (section 5.5) — except inside a header block, which the connection checks.
 */
export function parseFrame(h: FrameHeader, payload: Buffer): Frame {
  const { type, flags, streamId } = h;
  switch (type) {
    case FrameType.DATA: {
      if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '6.1', 'DATA on stream 0');
      const data = flags & Flag.PADDED ? unpad(payload, '6.1') : payload;
      return { type, streamId, endStream: (flags & Flag.END_STREAM) !== 0, data, flowLength: payload.length };
    }
    case FrameType.HEADERS: {
      if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '6.2', 'HEADERS on stream 0');
      let fragment = flags & Flag.PADDED ? unpad(payload, '6.2') : payload;
      let selfDependent = false;
      if (flags & Flag.PRIORITY) {
        if (fragment.length < 5) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, '6.2', 'HEADERS with PRIORITY shorter than its 5 priority bytes');
        selfDependent = (fragment.readUInt32BE(0) & 0x7fffffff) === streamId;
        fragment = fragment.subarray(5);
      }
      return {
        type,
        streamId,
        endStream: (flags & Flag.END_STREAM) !== 0,
        endHeaders: (flags & Flag.END_HEADERS) !== 0,
        fragment,
        selfDependent,
      };
    }
    case FrameType.PRIORITY:
      if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '6.3', 'PRIORITY on stream 0');
      if (payload.length !== 5) throw new StreamError(streamId, ErrorCode.FRAME_SIZE_ERROR, '6.3', `PRIORITY of ${payload.length} bytes, not 5`);
      if ((payload.readUInt32BE(0) & 0x7fffffff) === streamId) throw new StreamError(streamId, ErrorCode.PROTOCOL_ERROR, '5.3.1', 'a stream cannot depend on itself');
      return { type, streamId };
    case FrameType.RST_STREAM:
      if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '6.4', 'RST_STREAM on stream 0');
      if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, '6.4', `RST_STREAM of ${payload.length} bytes, not 4`);
      return { type, streamId, code: payload.readUInt32BE(0) };
    case FrameType.SETTINGS:
      return parseSettings(flags, streamId, payload);
    case FrameType.PUSH_PROMISE:
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '8.4', 'a client cannot push (PUSH_PROMISE)');
    case FrameType.PING:
      if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '6.7', `PING on stream ${streamId}`);
      if (payload.length !== 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, '6.7', `PING of ${payload.length} bytes, not 8`);
      return { type, ack: (flags & Flag.ACK) !== 0, data: payload };
    case FrameType.GOAWAY:
      if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '6.8', `GOAWAY on stream ${streamId}`);
      if (payload.length < 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, '6.8', `GOAWAY of ${payload.length} bytes, under 8`);
      return { type, lastStreamId: payload.readUInt32BE(0) & 0x7fffffff, code: payload.readUInt32BE(4) };
    case FrameType.WINDOW_UPDATE: {
      if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, '6.9', `WINDOW_UPDATE of ${payload.length} bytes, not 4`);
      const increment = payload.readUInt32BE(0) & 0x7fffffff;
      if (increment === 0) {
        if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '6.9', 'WINDOW_UPDATE of 0 for the connection');
        throw new StreamError(streamId, ErrorCode.PROTOCOL_ERROR, '6.9', 'WINDOW_UPDATE of 0');
      }
      return { type, streamId, increment };
    }
    case FrameType.CONTINUATION:
      if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '6.10', 'CONTINUATION on stream 0');
      return { type, streamId, endHeaders: (flags & Flag.END_HEADERS) !== 0, fragment: payload };
    default:
      return UNKNOWN;
  }
}

function parseSettings(flags: number, streamId: number, payload: Buffer): Frame {
  if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '6.5', `SETTINGS on stream ${streamId}`);
  if (flags & Flag.ACK) {
    if (payload.length !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, '6.5', 'SETTINGS ACK with a payload');
    return { type: FrameType.SETTINGS, ack: true, settings: [] };
  }
  if (payload.length % 6 !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, '6.5', `SETTINGS of ${payload.length} bytes, not a multiple of 6`);
  const settings: Array<readonly [number, number]> = [];
  for (let i = 0; i < payload.length; i += 6) {
    const id = payload.readUInt16BE(i);
    const value = payload.readUInt32BE(i + 2);
    if (id === Setting.ENABLE_PUSH && value > 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '6.5.2', `SETTINGS_ENABLE_PUSH ${value}, not 0 or 1`);
    if (id === Setting.INITIAL_WINDOW_SIZE && value > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, '6.5.2', `SETTINGS_INITIAL_WINDOW_SIZE ${value} above 2^31-1`);
    if (id === Setting.MAX_FRAME_SIZE && (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_ALLOWED_FRAME_SIZE)) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, '6.5.2', `SETTINGS_MAX_FRAME_SIZE ${value} outside 2^14..2^24-1`);
    }
    settings.push([id, value]); // unknown identifiers are kept and ignored by the connection
  }
  return { type: FrameType.SETTINGS, ack: false, settings };
}

/** Sections 6.1 and 6.2: the pad length byte, then data, then that much padding. */
function unpad(payload: Buffer, section: string): Buffer {
  if (payload.length < 1) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, section, 'PADDED frame without its pad length');
  const pad = payload[0]!;
  if (pad >= payload.length) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, section, `padding of ${pad} bytes in a ${payload.length}-byte frame`);
  return payload.subarray(1, payload.length - pad);
}

// --- writing ------------------------------------------------------------------------------

/** Writes a 9-byte frame header at `pos`; returns where the payload goes. */
export function writeFrameHeader(out: Buffer, pos: number, length: number, type: number, flags: number, streamId: number): number {
  out.writeUIntBE(length, pos, 3);
  out[pos + 3] = type;
  out[pos + 4] = flags;
  out.writeUInt32BE(streamId, pos + 5);
  return pos + FRAME_HEADER_BYTES;
}

export function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  writeFrameHeader(header, 0, length, type, flags, streamId);
  return header;
}

export function settingsPayload(settings: ReadonlyArray<readonly [number, number]>): Buffer {
  const payload = Buffer.allocUnsafe(6 * settings.length);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, 6 * i);
    payload.writeUInt32BE(value, 6 * i + 2);
  });
  return payload;
}

export function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

export function goawayPayload(lastStreamId: number, code: number, debug: string): Buffer {
  const text = Buffer.from(debug.slice(0, 256), 'utf8');
  const payload = Buffer.allocUnsafe(8 + text.length);
  payload.writeUInt32BE(lastStreamId, 0);
  payload.writeUInt32BE(code, 4);
  text.copy(payload, 8);
  return payload;
}
