// A protobuf message written in one pass into one reused scratch buffer, for the processor's
// answers: one per ext_proc message, so the general encoder's per-field objects (protobufjs
// keeps an operation object per field written, and a fork per nested message) were most of what
// a call left to the garbage collector (bench/RESULTS.md, issue 21). A nested message reserves
// one byte for its length and moves its bytes on when the length needs more: the encoding stays
// canonical (shortest varints), as any decoder expects.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;

const varintSize = (v: number): number => (v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5);

export class ProtoWriter {
  private buf = Buffer.allocUnsafe(4_096);
  private pos = 0;
  /** Where each nested message still open starts (its reserved length byte). */
  private readonly open: number[] = [];

  /** Starts a new message (the scratch buffer is reused). */
  reset(): this {
    this.pos = 0;
    this.open.length = 0;
    return this;
  }

  /** A non-negative integer field (uint32, enum, bool), written even when 0. */
  uint(field: number, v: number): this {
    this.ensure(16);
    this.key(field, WIRE_VARINT);
    this.varint(v);
    return this;
  }

  /** A bool field, written only when true (proto3 leaves false out). */
  flag(field: number, v: boolean | undefined): this {
    return v ? this.uint(field, 1) : this;
  }

  double(field: number, v: number): this {
    this.ensure(16);
    this.key(field, WIRE_FIXED64);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.ensure(b.length + 16);
    this.key(field, WIRE_LENGTH);
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** A string field, or a bytes field given as text (`encoding` latin1 keeps each char one byte). */
  string(field: number, s: string, encoding: 'utf8' | 'latin1' = 'utf8'): this {
    this.ensure(3 * s.length + 16);
    this.key(field, WIRE_LENGTH);
    // Short ASCII (names, models, header values) copied char by char: Buffer#write costs more per call than the copy.
    if (s.length < 64) {
      const at = this.pos;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        this.buf[at + 1 + i] = c;
      }
      if (i === s.length) {
        this.buf[at] = s.length;
        this.pos = at + 1 + s.length;
        return this;
      }
    }
    const n = encoding === 'latin1' ? s.length : Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.pos += this.buf.write(s, this.pos, n, encoding);
    return this;
  }

  /** Opens a nested message field; `end` closes it. */
  begin(field: number): this {
    this.ensure(16);
    this.key(field, WIRE_LENGTH);
    this.open.push(this.pos);
    this.pos += 1;
    return this;
  }

  end(): this {
    const start = this.open.pop();
    if (start === undefined) throw new Error('ProtoWriter.end without begin');
    const length = this.pos - start - 1;
    const size = varintSize(length);
    if (size > 1) {
      this.ensure(size);
      this.buf.copyWithin(start + size, start + 1, this.pos);
      this.pos += size - 1;
    }
    const at = this.pos;
    this.pos = start;
    this.varint(length);
    this.pos = at;
    return this;
  }

  /** The message's bytes, copied out of the scratch buffer. */
  finish(): Buffer {
    if (this.open.length) throw new Error('ProtoWriter.finish with a nested message still open');
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  private key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  private varint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}
