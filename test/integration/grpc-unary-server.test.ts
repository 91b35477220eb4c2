// The hand-served gRPC server (shared/h2, shared/grpc-unary-server.ts) against two independent
// HTTP/2 stacks: grpc-js as a gRPC client, and node:http2 (nghttp2) for what grpc-js never
// sends: padding, header blocks split into CONTINUATION frames, a small flow-control window,
// requests that are not gRPC. Envoy itself talks to it in the ext-authz and ratelimit tests.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { UnaryGrpcServer } from '../../shared/grpc/unary-server.js';
import { grpcFrame } from '../../shared/grpc/wire.js';
import { DEFAULT_H2_LIMITS } from '../../shared/h2/limits.js';
import { waitFor } from '../../launcher/wait.js';
import { PREFACE, RawH2, frame } from '../helpers/h2-raw.js';

const SERVICE = 'meshgate.test.Echo';
const METHOD = `/${SERVICE}/Say`;

/**
 * Echoes the request; "fail" rejects, "boom" throws in decode, "slow" answers after 300 ms.
 * Header lists of up to 64 KiB, so that a block must be split into CONTINUATION frames (the
 * default of 16 KiB never needs one: a block is no larger than the list it encodes).
 */
function echoServer(): UnaryGrpcServer<Buffer> {
  return new UnaryGrpcServer<Buffer>({
    limits: { ...DEFAULT_H2_LIMITS, maxHeaderListBytes: 64 * 1024 },
    service: SERVICE,
    method: 'Say',
    decode: (b) => {
      if (b.toString() === 'boom') throw new Error('not a request');
      return Buffer.from(b);
    },
    handle: async (b) => {
      if (b.toString() === 'fail') throw new Error('the handler failed: é%');
      if (b.toString() === 'slow') await new Promise((r) => setTimeout(r, 300));
      return b;
    },
  });
}

function call(client: grpc.Client, path: string, body: Buffer, deadlineMs = 5_000): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, body, { deadline: Date.now() + deadlineMs }, (err, v) => (err ? reject(err) : resolve(v!))),
  );
}

/** One exchange on a node:http2 session: status, headers, trailers and body as received. */
function exchange(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body: Buffer): Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let h: http2.IncomingHttpHeaders = {};
    let t: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (r) => (h = r));
    req.on('trailers', (r) => (t = r));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ headers: h, trailers: t, body: Buffer.concat(chunks) }));
    req.on('error', reject);
    req.end(body);
  });
}

describe('hand-served gRPC over HTTP/2', () => {
  const server = echoServer();
  let address = '';
  let client: grpc.Client;
  before(async () => {
    address = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
    client = new grpc.Client(address, grpc.credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await server.close(200);
  });

  it('answers a grpc-js unary call with the message, and many at once', async () => {
    assert.equal((await call(client, METHOD, Buffer.from('hello'))).toString(), 'hello');
    const answers = await Promise.all(Array.from({ length: 2_000 }, (_, i) => call(client, METHOD, Buffer.from(`m${i}`))));
    assert.deepEqual(
      answers.map((a) => a.toString()),
      Array.from({ length: 2_000 }, (_, i) => `m${i}`),
    );
  });

  it('carries messages far larger than a frame and the default flow-control window, both ways', async () => {
    const big = Buffer.alloc(1_500_000, 'x');
    big.write('start');
    const answer = await call(client, METHOD, big);
    assert.equal(answer.length, big.length);
    assert.ok(answer.equals(big));
  });

  it('maps failures to gRPC statuses with their message', async () => {
    await assert.rejects(call(client, METHOD, Buffer.from('fail')), (e: grpc.ServiceError) => e.code === grpc.status.INTERNAL && e.details === 'the handler failed: é%');
    await assert.rejects(call(client, METHOD, Buffer.from('boom')), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /not a request/.test(e.details));
    await assert.rejects(call(client, `/${SERVICE}/Other`, Buffer.from('x')), (e: grpc.ServiceError) => e.code === grpc.status.UNIMPLEMENTED);
    await assert.rejects(call(client, METHOD, Buffer.alloc(4 * 1024 * 1024 + 10)), (e: grpc.ServiceError) => e.code === grpc.status.RESOURCE_EXHAUSTED);
    // The connection is still good after each of them.
    assert.equal((await call(client, METHOD, Buffer.from('after'))).toString(), 'after');
  });

  it('drops the answer of a call whose caller gave up, and goes on', async () => {
    await assert.rejects(call(client, METHOD, Buffer.from('slow'), 50), (e: grpc.ServiceError) => e.code === grpc.status.DEADLINE_EXCEEDED);
    await new Promise((r) => setTimeout(r, 350));
    assert.equal((await call(client, METHOD, Buffer.from('next'))).toString(), 'next');
  });

  it('answers grpc.health.v1 Check and Watch', async () => {
    const status = async (service: string): Promise<number> => (await call(client, '/grpc.health.v1.Health/Check', Buffer.from([0x0a, service.length, ...Buffer.from(service)])))[1] ?? 0;
    server.setServing(false);
    assert.equal(await status(''), 2, 'NOT_SERVING');
    const seen: number[] = [];
    const watch = client.makeServerStreamRequest('/grpc.health.v1.Health/Watch', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, SERVICE.length, ...Buffer.from(SERVICE)]));
    watch.on('data', (b: Buffer) => seen.push(b[1]!));
    watch.on('error', () => undefined);
    await waitFor('the first status', () => seen.length === 1, { timeoutMs: 3_000, intervalMs: 10 });
    server.setServing(true);
    await waitFor('the second status', () => seen.length === 2, { timeoutMs: 3_000, intervalMs: 10 });
    assert.deepEqual(seen, [2, 1], 'NOT_SERVING, then SERVING');
    watch.cancel();
    assert.equal(await status(SERVICE), 1, 'SERVING');
    await assert.rejects(status('nope'), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
  });

  it('reads padded frames, CONTINUATION and a 16 KiB window from nghttp2, and refuses what is not gRPC', async () => {
    const session = http2.connect(`http://${address}`, { paddingStrategy: http2.constants.PADDING_STRATEGY_MAX, settings: { initialWindowSize: 16_384 } });
    try {
      const big = Buffer.alloc(200_000, 'y');
      const r = await exchange(session, { ':path': METHOD, 'x-large': 'z'.repeat(40_000) }, grpcFrame(big));
      assert.equal(r.headers[':status'], 200);
      assert.equal(r.trailers['grpc-status'], '0');
      assert.ok(r.body.subarray(5).equals(big));
      assert.equal(r.body.readUInt32BE(1), big.length);
      const notGrpc = await exchange(session, { ':path': METHOD, 'content-type': 'application/json' }, Buffer.from('{}'));
      assert.equal(notGrpc.headers[':status'], 415);
      const twoMessages = await exchange(session, { ':path': METHOD }, Buffer.concat([grpcFrame(Buffer.from('a')), grpcFrame(Buffer.from('b'))]));
      assert.equal(twoMessages.headers['grpc-status'], '13');
    } finally {
      session.close();
    }
  });

  it('holds at most 32 MiB of unfinished requests per connection, refusing the stream that would pass it', async () => {
    const session = http2.connect(`http://${address}`);
    try {
      const size = 3_500_000;
      const message = Buffer.alloc(size, 'q');
      // Twelve requests of 3.5 MB, each sent but the last byte before any ends: 42 MB in flight.
      const streams = Array.from({ length: 12 }, () => {
        const req = session.request({ ':method': 'POST', ':path': METHOD, 'content-type': 'application/grpc', te: 'trailers' });
        const done = new Promise<string>((resolve) => {
          let status = '';
          req.on('response', (h) => (status = String(h['grpc-status'] ?? status)));
          req.on('trailers', (t) => (status = String(t['grpc-status'])));
          req.on('data', () => undefined);
          req.on('close', () => resolve(status));
        });
        const body = grpcFrame(message);
        req.write(body.subarray(0, body.length - 1));
        return { req, done, last: body.subarray(body.length - 1) };
      });
      await new Promise((r) => setTimeout(r, 500));
      for (const s of streams) if (!s.req.closed) s.req.end(s.last);
      const statuses = await Promise.all(streams.map((s) => s.done));
      assert.ok(statuses.includes('8'), `some refused with RESOURCE_EXHAUSTED: ${statuses.join(',')}`);
      assert.ok(statuses.filter((x) => x === '0').length >= 8, `32 MiB holds at least 8 of them: ${statuses.join(',')}`);
      // What was held is given back: ten more in a row all pass.
      for (let i = 0; i < 10; i++) {
        const r = await exchange(session, { ':path': METHOD }, grpcFrame(message));
        assert.equal(r.trailers['grpc-status'], '0');
      }
    } finally {
      session.close();
    }
  });

  it('ends a connection that breaks the protocol with GOAWAY and its reason, and serves the others', async () => {
    const port = Number(address.split(':')[1]);
    const goawayCode = async (bytes: Buffer): Promise<number | 'closed'> => {
      const c = new RawH2(port, '127.0.0.1', false);
      await c.write(bytes);
      await c.waitClosed();
      c.destroy();
      return c.goawayCode() ?? 'closed';
    };
    const preface = PREFACE;
    const settings = frame(4, 0, 0, Buffer.alloc(0));
    assert.equal(await goawayCode(Buffer.concat([preface, settings, frame(0, 0, 1, Buffer.alloc(20_000))])), 6, 'FRAME_SIZE_ERROR');
    assert.equal(await goawayCode(Buffer.concat([preface, settings, frame(1, 0x5, 2, Buffer.from([0x82]))])), 1, 'PROTOCOL_ERROR: an even stream');
    assert.equal(await goawayCode(Buffer.concat([preface, settings, frame(1, 0x5, 1, Buffer.from([0xff, 0x7f]))])), 9, 'COMPRESSION_ERROR: no such table entry');
    assert.equal(await goawayCode(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), 1, 'not HTTP/2');
    assert.equal((await call(client, METHOD, Buffer.from('still here'))).toString(), 'still here');
  });

  it('lets a call in flight finish on close, then takes no new connections', async () => {
    const s = echoServer();
    const port = await s.listen('127.0.0.1', 0);
    const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const slow = call(c, METHOD, Buffer.from('slow'));
      await new Promise((r) => setTimeout(r, 50));
      const closed = s.close(2_000);
      assert.equal((await slow).toString(), 'slow');
      await closed;
      const fresh = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      await assert.rejects(call(fresh, METHOD, Buffer.from('x'), 500), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED);
      fresh.close();
    } finally {
      c.close();
    }
  });
});
