import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { HpackDecoder, HpackError, encodeHeaders } from '../../shared/h2/hpack.js';

// hpack.js (an independent HPACK implementation, a dev dependency) writes the blocks ours
// must read: Huffman strings, incremental indexing, table size updates.
const require = createRequire(import.meta.url);
const hpackjs = require('hpack.js') as {
  compressor: { create(o: { table: { maxSize: number } }): Compressor };
  decompressor: { create(o: { table: { maxSize: number } }): Decompressor };
};
interface Compressor {
  write(headers: Array<{ name: string; value: string; huffman?: boolean }>): void;
  read(): Buffer | null;
  updateTableSize(size: number): void;
}
interface Decompressor {
  write(b: Buffer): void;
  execute(): void;
  read(): { name: string; value: string } | null;
}

function compress(c: Compressor, headers: Array<[string, string]>, huffman = true): Buffer {
  c.write(headers.map(([name, value]) => ({ name, value, huffman })));
  const parts: Buffer[] = [];
  for (let b = c.read(); b; b = c.read()) parts.push(b);
  return Buffer.concat(parts);
}

const request = (i: number): Array<[string, string]> => [
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit'],
  [':authority', 'ratelimit'],
  ['content-type', 'application/grpc'],
  ['te', 'trailers'],
  ['grpc-timeout', `${20 + i}m`],
  ['x-request-id', `0b3d4c2e-${i}-4f6a-9e1d-${'abcdef'.repeat(2)}~!%&é`],
];

describe('HPACK decoding', () => {
  it('reads RFC 7541 C.4.1 (a request with Huffman-encoded strings)', () => {
    const block = Buffer.from('828684418cf1e3c2e5f23a6ba0ab90f4ff', 'hex');
    assert.deepEqual(new HpackDecoder().decode(block), [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
  });

  it('reads the same Huffman literal alike every time, and refuses bad padding every time', () => {
    // A literal without indexing (0x04: :path by name), value Huffman-coded: what Envoy's gRPC client sends per stream.
    const literal = (value: Buffer): Buffer => Buffer.concat([Buffer.from([0x04, 0x80 | value.length]), value]);
    const www = Buffer.from('f1e3c2e5f23a6ba0ab90f4ff', 'hex'); // "www.example.com" (RFC 7541 C.4.1)
    for (let i = 0; i < 3; i++) assert.deepEqual(new HpackDecoder().decode(literal(www)), [[':path', 'www.example.com']]);
    // "0" (five zero bits) and then three bits of padding that are not all ones: refused each time, never remembered as a value.
    const badPadding = Buffer.from([0x00]);
    for (let i = 0; i < 2; i++) assert.throws(() => new HpackDecoder().decode(literal(badPadding)), /padding|EOS/);
  });

  it("follows another encoder's dynamic table over a connection of many requests, Huffman or not", () => {
    for (const huffman of [true, false]) {
      const c = hpackjs.compressor.create({ table: { maxSize: 4096 } });
      const d = new HpackDecoder();
      for (let i = 0; i < 200; i++) {
        const headers = request(i);
        assert.deepEqual(d.decode(compress(c, headers, huffman)), headers);
      }
    }
  });

  it('evicts as the encoder does when the table is small, and follows table size updates', () => {
    const c = hpackjs.compressor.create({ table: { maxSize: 4096 } });
    const d = new HpackDecoder();
    c.updateTableSize(120); // two or three entries at most: constant eviction
    for (let i = 0; i < 50; i++) {
      const headers = request(i).slice(0, 7);
      assert.deepEqual(d.decode(compress(c, headers)), headers);
    }
  });

  it('refuses what is not HPACK: an index past the table, a truncated string, a size above the limit', () => {
    assert.throws(() => new HpackDecoder().decode(Buffer.from([0xff, 0x00])), HpackError); // index 127, empty table
    assert.throws(() => new HpackDecoder().decode(Buffer.from([0x40, 0x05, 0x61])), HpackError); // name of 5, 1 byte
    assert.throws(() => new HpackDecoder(4096).decode(Buffer.from([0x3f, 0xe1, 0x3f])), HpackError); // size 8192
  });
});

describe('HPACK encoding of answers', () => {
  it('is read back by another decoder exactly', () => {
    const headers: Array<[string, string]> = [
      [':status', '200'],
      ['content-type', 'application/grpc'],
      ['grpc-status', '13'],
      ['grpc-message', 'x'.repeat(300)], // a length past the 7-bit prefix
    ];
    const block = encodeHeaders(headers);
    const d = hpackjs.decompressor.create({ table: { maxSize: 4096 } });
    d.write(block);
    d.execute();
    const out: Array<[string, string]> = [];
    for (let h = d.read(); h; h = d.read()) out.push([h.name, h.value]);
    assert.deepEqual(out, headers);
    assert.deepEqual(new HpackDecoder().decode(block), headers);
    assert.equal(block[0], 0x88, ':status 200 is the static entry 8');
  });

  it('stops keeping fields past the list limits but still updates the table, and refuses a late size update', () => {
    const d = new HpackDecoder();
    const add = Buffer.from([0x40, 1, 0x61, 1, 0x62]); // "a: b", incrementally indexed
    assert.equal(d.decode(Buffer.concat([add, Buffer.alloc(10, 0x82)]), Number.POSITIVE_INFINITY, 5), undefined, 'past 5 fields');
    assert.equal(d.listBytes, 11 * 32 + 2 + 10 * 'GET'.length + 10 * ':method'.length);
    assert.deepEqual(d.decode(Buffer.from([0xbe])), [['a', 'b']], 'the entry was added all the same');
    assert.equal(d.decode(Buffer.concat([add]), 10), undefined, 'past 10 bytes (a field counts 32 more)');
    assert.throws(() => d.decode(Buffer.from([0x82, 0x20])), /size update after a header field/);
    assert.deepEqual(d.decode(Buffer.from([0x20, 0x3f, 0xe1, 0x1f, 0x82])), [[':method', 'GET']], 'size updates first are fine');
  });
});
