// Every bound of the HTTP/2 server, its default, its flag, and what a peer that passes it sees.
// The defaults fit the callers these servers have — Envoy's gRPC clients, a few connections per
// worker, small unary calls — with room to spare, and keep any one peer's cost bounded:
//
//   held request bytes ≤ maxConnectionBufferedBytes per connection and maxBufferedBytes in all;
//   a header list ≤ maxHeaderListBytes (and its compressed block ≤ maxHeaderBlockBytes);
//   output waiting for a slow reader ≤ maxOutputBufferBytes per connection, then reading stops.
//
// So a connection's memory is about maxConnectionBufferedBytes + maxOutputBufferBytes + one
// frame, and the server's about maxBufferedBytes + maxConnections × (maxOutputBufferBytes +
// 64 KiB); see the README of the component for the figures measured under attack.
import { positiveInteger } from '../validate/positive-integer.js';

export interface H2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS; a stream past it gets RST_STREAM REFUSED_STREAM. */
  readonly maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE (names + values + 32 per field); past it: HTTP 431. */
  readonly maxHeaderListBytes: number;
  /** Fields in one header list; past it: HTTP 431. */
  readonly maxHeaderFields: number;
  /** One compressed header block (HEADERS + CONTINUATION); past it: GOAWAY ENHANCE_YOUR_CALM. */
  readonly maxHeaderBlockBytes: number;
  /** CONTINUATION frames in one header block, empty ones included; past it: GOAWAY ENHANCE_YOUR_CALM. */
  readonly maxContinuationFrames: number;
  /** One request body; past it the stream ends early (gRPC: RESOURCE_EXHAUSTED). */
  readonly maxRequestBodyBytes: number;
  /** Unfinished request bodies and header lists one connection holds; past it, as above. */
  readonly maxConnectionBufferedBytes: number;
  /** The same over every connection of the server. */
  readonly maxBufferedBytes: number;
  /** Streams the client may reset before they are answered: a burst, then this many a second, unless under half of the streams it opened; past it: GOAWAY ENHANCE_YOUR_CALM (rapid reset, CVE-2023-44487). */
  readonly resetBurst: number;
  readonly resetsPerSecond: number;
  /** PING and SETTINGS frames, each of which this side must answer: a burst, then per second; past it: GOAWAY ENHANCE_YOUR_CALM. */
  readonly controlFrameBurst: number;
  readonly controlFramesPerSecond: number;
  /** Frames in a row that carry nothing (empty DATA or CONTINUATION without an end); past it: GOAWAY ENHANCE_YOUR_CALM. */
  readonly maxEmptyFrames: number;
  /** WINDOW_UPDATE and PRIORITY frames allowed per stream opened and DATA frame sent (plus 100); past it: GOAWAY ENHANCE_YOUR_CALM. */
  readonly maxIdleFramesPerWork: number;
  /** Bytes written but not yet taken by a slow reader, after which the connection is not read until they drain. */
  readonly maxOutputBufferBytes: number;
  /** Open connections; a further one is closed at once. */
  readonly maxConnections: number;
  /**
   * Calls the application is working on, over all connections (a unary call from its last
   * request byte to its answer, a stream while open); a further call is refused at once (gRPC
   * RESOURCE_EXHAUSTED, "busy"), never queued, so that a caller's own failure mode answers
   * within a round trip. Health checks are always answered.
   */
  readonly maxCallsInFlight: number;
  /** A connection without streams for this long gets GOAWAY NO_ERROR and is closed. */
  readonly idleTimeoutMs: number;
  /** From accept to the client's preface; then the socket is closed. */
  readonly prefaceTimeoutMs: number;
  /** For the client to acknowledge this side's SETTINGS; then GOAWAY SETTINGS_TIMEOUT. */
  readonly settingsTimeoutMs: number;
  /** From a request's HEADERS to its END_STREAM; then RST_STREAM CANCEL. */
  readonly requestTimeoutMs: number;
}

export const DEFAULT_H2_LIMITS: H2Limits = Object.freeze({
  maxConcurrentStreams: 1_000,
  maxHeaderListBytes: 16 * 1024,
  maxHeaderFields: 128,
  maxHeaderBlockBytes: 64 * 1024,
  maxContinuationFrames: 16,
  maxRequestBodyBytes: 4 * 1024 * 1024 + 5,
  maxConnectionBufferedBytes: 32 * 1024 * 1024,
  maxBufferedBytes: 256 * 1024 * 1024,
  resetBurst: 1_000,
  resetsPerSecond: 100,
  controlFrameBurst: 1_000,
  controlFramesPerSecond: 100,
  maxEmptyFrames: 16,
  maxIdleFramesPerWork: 100,
  maxOutputBufferBytes: 4 * 1024 * 1024,
  maxConnections: 1_024,
  maxCallsInFlight: 8_192,
  idleTimeoutMs: 300_000,
  prefaceTimeoutMs: 10_000,
  settingsTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
});

/** The command-line flag of each limit: `--h2-max-concurrent-streams 200`. */
export const H2_LIMIT_FLAGS: Readonly<Record<string, keyof H2Limits>> = Object.freeze(
  Object.fromEntries(
    (Object.keys(DEFAULT_H2_LIMITS) as Array<keyof H2Limits>).map((key) => [`h2-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, key]),
  ),
);

/** parseArgs options for every limit flag. */
export const H2_LIMIT_OPTIONS = Object.fromEntries(Object.keys(H2_LIMIT_FLAGS).map((flag) => [flag, { type: 'string' as const }])) as Record<
  string,
  { type: 'string' }
>;

/** The limits with the flags given; throws with the flag's name for a value that is not a positive integer. */
export function h2LimitsFrom(values: Readonly<Record<string, unknown>>): H2Limits {
  const limits: Record<string, number> = { ...DEFAULT_H2_LIMITS };
  for (const [flag, key] of Object.entries(H2_LIMIT_FLAGS)) {
    limits[key] = positiveInteger(values[flag], `--${flag}`, limits[key]);
  }
  return Object.freeze(limits as unknown as H2Limits);
}
