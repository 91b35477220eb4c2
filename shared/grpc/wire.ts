// The few pieces of the gRPC-over-HTTP/2 wire format a hand-served method needs:
// length-prefixed messages, the response headers, and statuses in trailers.
import { encodeHeaders } from '../h2/hpack.js';
import type { ServerStream } from '../h2/stream.js';

export const GrpcStatus = {
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** A failure with the gRPC status the caller should see. */
export class GrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Header blocks every answer uses, encoded once. */
export const RESPONSE_HEADERS = encodeHeaders([
  [':status', '200'],
  ['content-type', 'application/grpc'],
]);
export const OK_TRAILERS = encodeHeaders([['grpc-status', '0']]);
const NOT_GRPC_HEADERS = encodeHeaders([
  [':status', '415'],
  ['content-type', 'text/plain; charset=utf-8'],
]);
const NOT_GRPC_BODY = Buffer.from('this is a gRPC server: send POST with content-type application/grpc\n');

/** A request that is not gRPC: 415 with a line of text saying what is expected (none for HEAD). */
export function answerNotGrpc(stream: ServerStream, method: string): void {
  if (method === 'HEAD') return stream.respond(NOT_GRPC_HEADERS, true);
  stream.respond(NOT_GRPC_HEADERS, false);
  stream.end(NOT_GRPC_BODY);
}

/** One length-prefixed message: the gRPC framing of every message on the wire. */
export function grpcFrame(message: Uint8Array): Buffer {
  return Buffer.concat([messagePrefix(message.length), message]);
}

/** A unary answer: headers, the message, OK trailers. Dropped if the caller gave up. */
export function respondOk(stream: ServerStream, message: Uint8Array): void {
  stream.respondWhole(RESPONSE_HEADERS, [messagePrefix(message.length), message], OK_TRAILERS);
}

/** The 5 bytes before a message on the wire: not compressed, then its length. */
function messagePrefix(length: number): Buffer {
  const prefix = Buffer.allocUnsafe(5);
  prefix[0] = 0;
  prefix.writeUInt32BE(length, 1);
  return prefix;
}

/** Longer messages are cut: the answer must stay one HEADERS frame (16 KiB at least). */
const MAX_STATUS_MESSAGE = 1_024;

/** Trailers with a status and its message (cut to stay one frame). */
export function statusTrailers(code: number, message: string): Buffer {
  return encodeHeaders([
    ['grpc-status', String(code)],
    ['grpc-message', encodeGrpcMessage(message.length > MAX_STATUS_MESSAGE ? `${message.slice(0, MAX_STATUS_MESSAGE)}…` : message)],
  ]);
}

/** A trailers-only answer: the status without a message. */
export function endWithStatus(stream: ServerStream, code: number, message: string): void {
  // Literal fields touch no header table, so the pre-encoded block can simply go first.
  stream.respond(Buffer.concat([RESPONSE_HEADERS, statusTrailers(code, message)]), true);
}

/** grpc-message is percent-encoded UTF-8 outside printable ASCII (and '%' itself). */
function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
