// The HTTP/2 connection's rules, frame by frame, on a fake socket: what a peer that breaks one
// gets back (GOAWAY or RST_STREAM, with the code RFC 9113 asks for), and a fuzz run that must
// never reach the application's error path (an exception there is a bug of ours).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { H2ServerConnection, type H2Socket } from '../../shared/h2/connection.js';
import { ErrorCode } from '../../shared/h2/errors.js';
import { HpackDecoder, encodeHeaders } from '../../shared/h2/hpack.js';
import { DEFAULT_H2_LIMITS, type H2Limits } from '../../shared/h2/limits.js';
import type { ServerStream } from '../../shared/h2/stream.js';
import { F, PREFACE, T, frame, parseFrames, u32, type ReceivedFrame } from '../helpers/h2-raw.js';
import { seededRandom } from '../helpers/seeded-random.js';

class FakeSocket extends EventEmitter implements H2Socket {
  written: Buffer[] = [];
  ended = false;
  destroyed = false;
  writableLength = 0;
  write(data: Buffer): boolean {
    this.written.push(Buffer.from(data));
    return true;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  pause(): void {}
  resume(): void {}

  /** Frames the server wrote, parsed. */
  frames(): ReceivedFrame[] {
    return parseFrames(Buffer.concat(this.written)).frames;
  }
}

const REQUEST = encodeHeaders([
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', '/x.Y/Z'],
  ['content-type', 'application/grpc'],
]);
const headers = (fields: Array<[string, string]>): Buffer => encodeHeaders(fields);

interface Run {
  socket: FakeSocket;
  streams: ServerStream[];
  errors: Error[];
}

/** A connection fed the client preface, SETTINGS and then `bytes`; answers each request with 200 once it ends. */
async function run(bytes: Buffer[], limits: H2Limits = DEFAULT_H2_LIMITS): Promise<Run> {
  const socket = new FakeSocket();
  const streams: ServerStream[] = [];
  const errors: Error[] = [];
  new H2ServerConnection(socket, {
    limits,
    onStream: (s) => {
      streams.push(s);
      s.onEnd = () => s.respond(encodeHeaders([[':status', '200']]), true);
    },
    onError: (e) => errors.push(e),
  });
  socket.emit('data', Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0), ...bytes]));
  await new Promise((r) => process.nextTick(r));
  return { socket, streams, errors };
}

const goaway = (r: Run): number | undefined => {
  const g = r.socket.frames().find((f) => f.type === T.GOAWAY);
  return g?.payload.readUInt32BE(4);
};
const reset = (r: Run, stream: number): number | undefined => {
  const f = r.socket.frames().find((x) => x.type === T.RST_STREAM && x.stream === stream);
  return f?.payload.readUInt32BE(0);
};

const open = (id: number, flags: number = F.END_HEADERS) => frame(T.HEADERS, flags, id, REQUEST);

describe('HTTP/2 connection rules', () => {
  const connectionErrors: Array<[string, Buffer[], number]> = [
    ['§3.4 a preface not followed by SETTINGS', [], -1],
    ['§4.2 a frame above SETTINGS_MAX_FRAME_SIZE', [frame(T.DATA, 0, 1, Buffer.alloc(16_385))], ErrorCode.FRAME_SIZE_ERROR],
    ['§5.1 DATA on an idle stream', [frame(T.DATA, 0, 1, Buffer.from('x'))], ErrorCode.PROTOCOL_ERROR],
    ['§5.1.1 an even stream id', [open(2)], ErrorCode.PROTOCOL_ERROR],
    ['§5.1.1 a stream id below the last', [open(5, F.END_HEADERS | F.END_STREAM), open(3, F.END_HEADERS | F.END_STREAM)], ErrorCode.PROTOCOL_ERROR],
    ['§5.1 HEADERS on a closed stream', [open(1, F.END_HEADERS | F.END_STREAM), open(1, F.END_HEADERS | F.END_STREAM)], ErrorCode.STREAM_CLOSED],
    ['§6.1 padding longer than the frame', [open(1), frame(T.DATA, F.PADDED, 1, Buffer.from([5, 1, 2]))], ErrorCode.PROTOCOL_ERROR],
    ['§6.4 RST_STREAM on an idle stream', [frame(T.RST_STREAM, 0, 1, u32(8))], ErrorCode.PROTOCOL_ERROR],
    ['§6.4 RST_STREAM of 3 bytes', [open(1), frame(T.RST_STREAM, 0, 1, Buffer.alloc(3))], ErrorCode.FRAME_SIZE_ERROR],
    ['§6.5 SETTINGS ACK with a payload', [frame(T.SETTINGS, F.ACK, 0, Buffer.alloc(6))], ErrorCode.FRAME_SIZE_ERROR],
    ['§6.5.2 SETTINGS_ENABLE_PUSH 2', [frame(T.SETTINGS, 0, 0, Buffer.from([0, 2, 0, 0, 0, 2]))], ErrorCode.PROTOCOL_ERROR],
    ['§6.5.2 SETTINGS_INITIAL_WINDOW_SIZE 2^31', [frame(T.SETTINGS, 0, 0, Buffer.from([0, 4, 0x80, 0, 0, 0]))], ErrorCode.FLOW_CONTROL_ERROR],
    ['§6.5.2 SETTINGS_MAX_FRAME_SIZE 100', [frame(T.SETTINGS, 0, 0, Buffer.from([0, 5, 0, 0, 0, 100]))], ErrorCode.PROTOCOL_ERROR],
    ['§6.7 PING on a stream', [frame(T.PING, 0, 1, Buffer.alloc(8))], ErrorCode.PROTOCOL_ERROR],
    ['§6.7 PING of 6 bytes', [frame(T.PING, 0, 0, Buffer.alloc(6))], ErrorCode.FRAME_SIZE_ERROR],
    ['§6.8 GOAWAY on a stream', [frame(T.GOAWAY, 0, 1, Buffer.alloc(8))], ErrorCode.PROTOCOL_ERROR],
    ['§6.9 WINDOW_UPDATE of 0 on the connection', [frame(T.WINDOW_UPDATE, 0, 0, u32(0))], ErrorCode.PROTOCOL_ERROR],
    ['§6.9.1 the connection window above 2^31-1', [frame(T.WINDOW_UPDATE, 0, 0, u32(0x7fffffff))], ErrorCode.FLOW_CONTROL_ERROR],
    ['§6.10 a frame inside a header block', [frame(T.HEADERS, 0, 1, REQUEST), frame(T.PING, 0, 0, Buffer.alloc(8))], ErrorCode.PROTOCOL_ERROR],
    ['§6.10 CONTINUATION without HEADERS', [frame(T.CONTINUATION, F.END_HEADERS, 1, REQUEST)], ErrorCode.PROTOCOL_ERROR],
    ['§8.4 PUSH_PROMISE from a client', [frame(5, F.END_HEADERS, 1, Buffer.alloc(4))], ErrorCode.PROTOCOL_ERROR],
    ['RFC 7541 §4.2 a table size update after a field', [frame(T.HEADERS, F.END_HEADERS, 1, Buffer.concat([REQUEST, Buffer.from([0x20])]))], ErrorCode.COMPRESSION_ERROR],
  ];
  for (const [name, bytes, code] of connectionErrors) {
    it(`${name}: GOAWAY ${code >= 0 ? code : ''}`, async () => {
      const r = await run(name.startsWith('§3.4') ? [frame(T.PING, 0, 0, Buffer.alloc(8))] : bytes);
      if (name.startsWith('§3.4')) {
        // The preface above already ended with SETTINGS; feed a fresh connection instead.
        const socket = new FakeSocket();
        new H2ServerConnection(socket, { onStream: () => undefined });
        socket.emit('data', Buffer.concat([PREFACE, frame(T.PING, 0, 0, Buffer.alloc(8))]));
        const g = socket.frames().find((f) => f.type === T.GOAWAY);
        assert.equal(g?.payload.readUInt32BE(4), ErrorCode.PROTOCOL_ERROR);
        return;
      }
      assert.equal(goaway(r), code);
      assert.ok(r.socket.ended, 'the connection ends');
      assert.deepEqual(r.errors, []);
    });
  }

  const streamErrors: Array<[string, Buffer[], number]> = [
    ['§5.1 DATA after END_STREAM', [frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, REQUEST), frame(T.DATA, 0, 1, Buffer.from('x'))], ErrorCode.STREAM_CLOSED],
    ['§5.3.1 a stream that depends on itself', [frame(T.PRIORITY, 0, 1, Buffer.from([0, 0, 0, 1, 16]))], ErrorCode.PROTOCOL_ERROR],
    ['§6.3 PRIORITY of 4 bytes', [frame(T.PRIORITY, 0, 1, Buffer.alloc(4))], ErrorCode.FRAME_SIZE_ERROR],
    ['§6.9 WINDOW_UPDATE of 0 on a stream', [open(1), frame(T.WINDOW_UPDATE, 0, 1, u32(0))], ErrorCode.PROTOCOL_ERROR],
    ['§8.1 a second header block without END_STREAM', [open(1), frame(T.HEADERS, F.END_HEADERS, 1, headers([['x-a', 'b']]))], ErrorCode.PROTOCOL_ERROR],
    ['§8.1 a pseudo-header in trailers', [open(1), frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, headers([[':path', '/']]))], ErrorCode.PROTOCOL_ERROR],
    ['§8.1.1 content-length that the DATA does not match', [frame(T.HEADERS, F.END_HEADERS, 1, Buffer.concat([REQUEST, headers([['content-length', '3']])])), frame(T.DATA, F.END_STREAM, 1, Buffer.from('x'))], ErrorCode.PROTOCOL_ERROR],
    ['§8.2.1 an upper-case field name', [frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, Buffer.concat([REQUEST, headers([['X-Up', '1']])]))], ErrorCode.PROTOCOL_ERROR],
    ['§8.2.2 a connection-specific field', [frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, Buffer.concat([REQUEST, headers([['connection', 'close']])]))], ErrorCode.PROTOCOL_ERROR],
    ['§8.2.2 te other than trailers', [frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, Buffer.concat([REQUEST, headers([['te', 'gzip']])]))], ErrorCode.PROTOCOL_ERROR],
    ['§8.3 a pseudo-header after a regular field', [frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, Buffer.concat([REQUEST, headers([[':authority', 'x']])]))], ErrorCode.PROTOCOL_ERROR],
    ['§8.3.1 an unknown pseudo-header', [frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, Buffer.concat([headers([[':bogus', 'x']]), REQUEST]))], ErrorCode.PROTOCOL_ERROR],
    ['§8.3.1 no :scheme', [frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, headers([[':method', 'POST'], [':path', '/']]))], ErrorCode.PROTOCOL_ERROR],
    ['§8.3.1 :path twice', [frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, Buffer.concat([headers([[':path', '/a']]), REQUEST]))], ErrorCode.PROTOCOL_ERROR],
  ];
  for (const [name, bytes, code] of streamErrors) {
    it(`${name}: RST_STREAM ${code}, the connection goes on`, async () => {
      const r = await run(bytes);
      assert.equal(reset(r, 1), code);
      assert.equal(goaway(r), undefined);
      assert.deepEqual(r.errors, []);
    });
  }

  it('refuses streams past SETTINGS_MAX_CONCURRENT_STREAMS with REFUSED_STREAM', async () => {
    const r = await run([open(1), open(3), open(5)], { ...DEFAULT_H2_LIMITS, maxConcurrentStreams: 2 });
    assert.equal(r.streams.length, 2);
    assert.equal(reset(r, 5), ErrorCode.REFUSED_STREAM);
  });

  it('counts a PING only when no answer went out since the last one (gRPC clients ping once per answer)', async () => {
    const ping = frame(T.PING, 0, 0, Buffer.alloc(8));
    const perAnswer = await run(Array.from({ length: 3_000 }, (_, i) => Buffer.concat([open(2 * i + 1, F.END_HEADERS | F.END_STREAM), ping])));
    assert.equal(goaway(perAnswer), undefined, '3,000 calls, each followed by a PING');
    const flood = await run(Array.from({ length: 3_000 }, () => ping));
    assert.equal(goaway(flood), ErrorCode.ENHANCE_YOUR_CALM, '3,000 PINGs and no call');
  });

  it('tells rapid reset from a client that cancels a few calls: only the first is cut off', async () => {
    const legit: Buffer[] = [];
    for (let i = 0; i < 3_000; i++) {
      const id = 2 * i + 1;
      legit.push(open(id));
      legit.push(i % 10 === 0 ? frame(T.RST_STREAM, 0, id, u32(ErrorCode.CANCEL)) : frame(T.DATA, F.END_STREAM, id));
    }
    const calm = await run(legit);
    assert.equal(goaway(calm), undefined, '300 cancels in 3,000 calls at once: never cut off');
    const attack = await run(Array.from({ length: 1_500 }, (_, i) => Buffer.concat([open(2 * i + 1), frame(T.RST_STREAM, 0, 2 * i + 1, u32(ErrorCode.CANCEL))])));
    assert.equal(goaway(attack), ErrorCode.ENHANCE_YOUR_CALM, 'every stream reset at once: cut off after the burst');
  });

  it('does not take a streaming call the client resets after it was answered for rapid reset (Envoy ends ext_proc streams so)', async () => {
    const socket = new FakeSocket();
    new H2ServerConnection(socket, {
      limits: DEFAULT_H2_LIMITS,
      onStream: (s) => {
        // A bidirectional call: answered at once, read as it comes.
        s.onData = () => undefined;
        s.respond(encodeHeaders([[':status', '200'], ['content-type', 'application/grpc']]), false);
      },
    });
    const calls = Array.from({ length: 3_000 }, (_, i) => Buffer.concat([open(2 * i + 1), frame(T.RST_STREAM, 0, 2 * i + 1, u32(ErrorCode.CANCEL))]));
    socket.emit('data', Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0), ...calls]));
    await new Promise((r) => process.nextTick(r));
    const g = socket.frames().find((f) => f.type === T.GOAWAY);
    assert.equal(g, undefined, '3,000 answered streaming calls reset by the client');
  });

  it('answers 431 to a header list above SETTINGS_MAX_HEADER_LIST_SIZE or the field limit, and keeps the table in step', async () => {
    // "x-small: 1" is added to the dynamic table by the refused block; the next one refers to it
    // (index 62), which decodes only if the table stayed in step.
    const indexed = Buffer.from([0x40, 7, ...Buffer.from('x-small'), 1, 0x31]);
    const bigValue = Buffer.from([0x00, 5, ...Buffer.from('x-big'), 0x7f, 0xd1, 0x0e, ...Buffer.alloc(2_000, 0x61)]);
    const cases: Array<[Buffer, Partial<H2Limits>]> = [
      [Buffer.concat([REQUEST, indexed, bigValue]), { maxHeaderListBytes: 1_000 }],
      [Buffer.concat([REQUEST, indexed, Buffer.alloc(200, 0x82)]), { maxHeaderFields: 100 }],
    ];
    for (const [block, limits] of cases) {
      const next = Buffer.concat([REQUEST, Buffer.from([0xbe])]);
      const r = await run([frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, block), frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 3, next)], { ...DEFAULT_H2_LIMITS, ...limits });
      const answers = r.socket.frames().filter((f) => f.type === T.HEADERS);
      assert.deepEqual(new HpackDecoder().decode(answers[0]!.payload), [[':status', '431']]);
      assert.equal(answers[0]!.stream, 1);
      assert.deepEqual(r.streams.map((s) => s.id), [3], 'only the second request reached the application');
      assert.equal(r.streams[0]!.header('x-small'), '1');
      assert.equal(goaway(r), undefined);
    }
  });

  it('advertises its limits in SETTINGS and credits the connection window at once', async () => {
    const r = await run([]);
    const settings = r.socket.frames().find((f) => f.type === T.SETTINGS && !(f.flags & F.ACK))!;
    const values = new Map<number, number>();
    for (let i = 0; i < settings.payload.length; i += 6) values.set(settings.payload.readUInt16BE(i), settings.payload.readUInt32BE(i + 2));
    assert.equal(values.get(3), DEFAULT_H2_LIMITS.maxConcurrentStreams);
    assert.equal(values.get(6), DEFAULT_H2_LIMITS.maxHeaderListBytes);
    assert.ok(r.socket.frames().some((f) => f.type === T.WINDOW_UPDATE && f.stream === 0));
  });

  it('sends no more DATA than the peer\'s window, and the rest when it opens', async () => {
    const socket = new FakeSocket();
    new H2ServerConnection(socket, {
      onStream: (s) => {
        s.onEnd = () => {
          s.respond(encodeHeaders([[':status', '200']]), false);
          s.end(Buffer.alloc(10, 0x61));
        };
      },
    });
    socket.emit('data', Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0, Buffer.from([0, 4, 0, 0, 0, 3])), open(1, F.END_HEADERS | F.END_STREAM)]));
    await new Promise((r) => process.nextTick(r));
    const sent = () => socket.frames().filter((f) => f.type === T.DATA).reduce((n, f) => n + f.payload.length, 0);
    assert.equal(sent(), 3);
    socket.emit('data', frame(T.WINDOW_UPDATE, 0, 1, u32(100)));
    await new Promise((r) => process.nextTick(r));
    assert.equal(sent(), 10);
    assert.ok(socket.frames().some((f) => f.type === T.DATA && f.flags & F.END_STREAM));
  });

  it('reads the same frames however the bytes are cut into reads, a body held or streamed alike', async () => {
    const rand = seededRandom(7);
    const body = Buffer.alloc(40_000);
    for (let i = 0; i < body.length; i++) body[i] = rand(256);
    const wire = Buffer.concat([
      PREFACE,
      frame(T.SETTINGS, 0, 0),
      open(1),
      frame(T.DATA, 0, 1, body.subarray(0, 16_384)),
      frame(T.DATA, 0, 1, body.subarray(16_384, 32_768)),
      frame(T.DATA, F.END_STREAM, 1, body.subarray(32_768)),
      open(3),
      frame(T.DATA, 0, 3, body.subarray(0, 16_384)),
      frame(T.DATA, F.END_STREAM, 3, body.subarray(16_384, 20_000)),
    ]);
    for (let round = 0; round < 50; round++) {
      const socket = new FakeSocket();
      const held: Buffer[] = [];
      const streamed: Buffer[] = [];
      new H2ServerConnection(socket, {
        limits: DEFAULT_H2_LIMITS,
        onStream: (st) => {
          if (st.id === 3) st.onData = (c) => void streamed.push(Buffer.from(c));
          st.onEnd = (b) => {
            if (st.id === 1) held.push(b);
            st.respond(encodeHeaders([[':status', '200']]), true);
          };
        },
      });
      // Reads of 1 to 70,000 bytes, small ones often: frames and headers cut anywhere.
      for (let pos = 0; pos < wire.length; ) {
        const n = 1 + (rand(4) === 0 ? rand(9) : rand(70_000));
        socket.emit('data', wire.subarray(pos, pos + n));
        pos += n;
      }
      await new Promise((r) => process.nextTick(r));
      assert.equal(socket.frames().find((f) => f.type === T.GOAWAY)?.payload.subarray(8).toString(), undefined, `round ${round}: no GOAWAY`);
      assert.ok(held[0]?.equals(body), `round ${round}: the held body`);
      assert.ok(Buffer.concat(streamed).equals(body.subarray(0, 20_000)), `round ${round}: the streamed body`);
    }
  });

  it('fuzz: 20,000 random frames never reach the application error path', async () => {
    const rand = seededRandom(1);
    const pieces = [open(1), open(3, F.END_HEADERS | F.END_STREAM), frame(T.DATA, F.END_STREAM, 1, Buffer.from([0, 0, 0, 0, 0])), frame(T.WINDOW_UPDATE, 0, 0, u32(10)), frame(T.SETTINGS, 0, 0, Buffer.from([0, 4, 0, 0, 0, 0]))];
    let errors = 0;
    for (let c = 0; c < 400; c++) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 50; i++) {
        if (rand(2)) {
          const f = Buffer.from(pieces[rand(pieces.length)]!);
          f[rand(f.length)] = rand(256);
          frames.push(f);
        } else {
          const payload = Buffer.alloc(rand(40));
          for (let j = 0; j < payload.length; j++) payload[j] = rand(256);
          frames.push(frame(rand(11), rand(256), rand(8), payload));
        }
      }
      const r = await run(frames);
      errors += r.errors.length;
    }
    assert.equal(errors, 0);
  });
});
