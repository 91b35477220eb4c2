// HPACK (RFC 7541) header block decoding for the HTTP/2 server, and the few encodings it
// answers with. Decoding keeps the peer's dynamic table, so every header block of a
// connection must pass through the same decoder in order — also those of refused streams.
// Encoding never indexes (literal without indexing): answers are a handful of fixed headers,
// and a table kept in step with the peer would buy nothing.

/** RFC 7541 Appendix A. */
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];

/**
 * RFC 7541 Appendix B: the code length of each symbol (0–255, then 256 = EOS). The code is
 * canonical — codes are assigned in order of length, then symbol — so lengths define it.
 */
const HUFFMAN_CODE_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22,
  23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22,
  21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26,
  27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26,
  26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

const EOS = 256;

/**
 * The decoding tree, flattened: node n's children are tree[2n] (bit 0) and tree[2n+1] (bit 1);
 * a child value ≥ 0 is another node, a negative one is a leaf for symbol (-value - 1).
 */
const HUFFMAN_TREE: Int32Array = (() => {
  const symbols = HUFFMAN_CODE_LENGTHS.map((_, s) => s).sort((a, b) => HUFFMAN_CODE_LENGTHS[a]! - HUFFMAN_CODE_LENGTHS[b]! || a - b);
  const tree = new Int32Array(2 * 512).fill(0);
  let nodes = 1;
  let code = 0;
  let previousLength = HUFFMAN_CODE_LENGTHS[symbols[0]!]!;
  symbols.forEach((symbol, i) => {
    const length = HUFFMAN_CODE_LENGTHS[symbol]!;
    if (i > 0) code = (code + 1) * 2 ** (length - previousLength);
    previousLength = length;
    let node = 0;
    for (let bit = length - 1; bit >= 0; bit--) {
      const slot = 2 * node + (Math.floor(code / 2 ** bit) & 1);
      if (bit === 0) tree[slot] = -symbol - 1;
      else {
        if (tree[slot] === 0) tree[slot] = nodes++;
        node = tree[slot]!;
      }
    }
  });
  return tree;
})();

export class HpackError extends Error {}

/**
 * Short Huffman-coded strings decoded before, by their bytes: a peer that does not index a field
 * (Envoy's gRPC client sends every stream's :path as a literal) costs a lookup, not a bit-by-bit
 * decode. Bounded, and cleared when full; a string decodes the same way every time, so a hit
 * answers what decoding would, errors included (they are never kept).
 */
const DECODED = new Map<string, string>();
const DECODED_MAX_ENTRIES = 256;
const DECODED_MAX_BYTES = 128;

function huffmanDecodeKnown(bytes: Buffer, start: number, end: number): string {
  if (end - start > DECODED_MAX_BYTES) return huffmanDecode(bytes, start, end);
  const key = bytes.toString('latin1', start, end);
  let s = DECODED.get(key);
  if (s === undefined) {
    s = huffmanDecode(bytes, start, end);
    if (DECODED.size >= DECODED_MAX_ENTRIES) DECODED.clear();
    DECODED.set(key, s);
  }
  return s;
}

function huffmanDecode(bytes: Buffer, start: number, end: number): string {
  const out: number[] = [];
  let node = 0;
  let depth = 0; // bits since the last symbol: padding must be < 8 bits, all ones
  let ones = true;
  for (let i = start; i < end; i++) {
    const byte = bytes[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1;
      ones &&= b === 1;
      depth++;
      const next = HUFFMAN_TREE[2 * node + b]!;
      if (next < 0) {
        const symbol = -next - 1;
        if (symbol === EOS) throw new HpackError('EOS symbol in a Huffman-encoded string');
        out.push(symbol);
        node = 0;
        depth = 0;
        ones = true;
      } else node = next;
    }
  }
  if (depth > 7 || !ones) throw new HpackError('invalid Huffman padding');
  return Buffer.from(out).toString('latin1');
}

export type HeaderList = Array<readonly [string, string]>;

export class HpackDecoder {
  private readonly dynamic: Array<[string, string]> = []; // newest first
  private size = 0;
  private maxSize: number;

  /** `maxTableSize`: the SETTINGS_HEADER_TABLE_SIZE this side advertised (4096 by default). */
  constructor(private readonly maxTableSize = 4096) {
    this.maxSize = maxTableSize;
  }

  /** The size (RFC 9113 §6.5.2: names + values + 32 per field) of the last list decoded. */
  listBytes = 0;

  /**
   * Decodes a whole header block. Past `maxListBytes` or `maxFields` the rest is still decoded
   * (the table must stay in step with the peer's) but not kept, and undefined is returned.
   */
  decode(block: Buffer, maxListBytes = Number.POSITIVE_INFINITY, maxFields = Number.POSITIVE_INFINITY): HeaderList | undefined {
    const headers: HeaderList = [];
    let listBytes = 0;
    let tooLarge = false;
    let pos = 0;
    const int = (prefixBits: number): number => {
      const mask = (1 << prefixBits) - 1;
      let value = block[pos++]! & mask;
      if (value < mask) return value;
      let shift = 0;
      for (;;) {
        if (pos >= block.length) throw new HpackError('truncated integer');
        const b = block[pos++]!;
        value += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (shift > 28) throw new HpackError('integer too large');
        if ((b & 0x80) === 0) return value;
      }
    };
    const str = (): string => {
      if (pos >= block.length) throw new HpackError('truncated string');
      const huffman = (block[pos]! & 0x80) !== 0;
      const length = int(7);
      const end = pos + length;
      if (end > block.length) throw new HpackError('truncated string');
      const s = huffman ? huffmanDecodeKnown(block, pos, end) : block.toString('latin1', pos, end);
      pos = end;
      return s;
    };
    const emit = (header: readonly [string, string]): void => {
      listBytes += header[0].length + header[1].length + 32;
      if (tooLarge || listBytes > maxListBytes || headers.length >= maxFields) tooLarge = true;
      else headers.push(header);
    };
    while (pos < block.length) {
      const first = block[pos]!;
      if (first & 0x80) {
        emit(this.entry(int(7)));
      } else if ((first & 0xe0) === 0x20) {
        // RFC 7541 §4.2: a size update comes at the beginning of a block, before any field.
        if (listBytes > 0) throw new HpackError('dynamic table size update after a header field');
        const size = int(5);
        if (size > this.maxTableSize) throw new HpackError(`table size ${size} above ${this.maxTableSize}`);
        this.maxSize = size;
        this.evict(0);
      } else {
        const incremental = (first & 0xc0) === 0x40;
        const index = int(incremental ? 6 : 4);
        const name = index === 0 ? str() : this.entry(index)[0];
        const header: [string, string] = [name, str()];
        if (incremental) this.add(header);
        emit(header);
      }
    }
    this.listBytes = listBytes;
    return tooLarge ? undefined : headers;
  }

  private entry(index: number): readonly [string, string] {
    if (index >= 1 && index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
    const e = this.dynamic[index - STATIC_TABLE.length - 1];
    if (!e) throw new HpackError(`no header table entry ${index}`);
    return e;
  }

  private add(header: [string, string]): void {
    const size = header[0].length + header[1].length + 32;
    this.evict(size);
    if (size <= this.maxSize) {
      this.dynamic.unshift(header);
      this.size += size;
    }
  }

  private evict(room: number): void {
    while (this.dynamic.length && this.size + room > this.maxSize) {
      const [n, v] = this.dynamic.pop()!;
      this.size -= n.length + v.length + 32;
    }
  }
}

function integer(value: number, prefixBits: number, firstByteFlags: number): number[] {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) return [firstByteFlags | value];
  const out = [firstByteFlags | mask];
  value -= mask;
  while (value >= 0x80) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
  return out;
}

const literalString = (s: string): number[] => {
  const bytes = Buffer.from(s, 'latin1');
  return [...integer(bytes.length, 7, 0), ...bytes];
};

/** A header block of literal fields without indexing (names by static index when there is one). */
export function encodeHeaders(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    const exact = STATIC_TABLE.findIndex(([n, v]) => n === name && v === value);
    if (exact >= 0) {
      out.push(...integer(exact + 1, 7, 0x80));
      continue;
    }
    const named = STATIC_TABLE.findIndex(([n]) => n === name);
    if (named >= 0) out.push(...integer(named + 1, 4, 0));
    else out.push(0, ...literalString(name));
    out.push(...literalString(value));
  }
  return Buffer.from(out);
}
