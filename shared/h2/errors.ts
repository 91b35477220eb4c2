// HTTP/2 error codes (RFC 9113 section 7) and the two kinds of error (section 5.4): one that
// ends the connection with GOAWAY, one that ends a stream with RST_STREAM. Each carries the
// section of the RFC that asks for it, so a log line says which rule the peer broke.

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

/** "PROTOCOL_ERROR", or the number for a code this side does not know. */
export function errorName(code: number): string {
  return NAMES.get(code) ?? `0x${code.toString(16)}`;
}

/** Section 5.4.1: the connection ends with GOAWAY carrying `code`. */
export class ConnectionError extends Error {
  constructor(
    readonly code: ErrorCode,
    /** e.g. "6.5.2" */
    readonly section: string,
    detail: string,
  ) {
    super(`${errorName(code)} (RFC 9113 §${section}): ${detail}`);
  }
}

/** Section 5.4.2: one stream ends with RST_STREAM carrying `code`; the connection goes on. */
export class StreamError extends Error {
  constructor(
    readonly streamId: number,
    readonly code: ErrorCode,
    readonly section: string,
    detail: string,
  ) {
    super(`${errorName(code)} on stream ${streamId} (RFC 9113 §${section}): ${detail}`);
  }
}
