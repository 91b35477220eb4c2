// A protobuf message read field by field where it lies, for Envoy's ext_proc messages: the
// processor reads a handful of fields of each (a phase, its headers or body, two metadata
// namespaces), and the general decoder built an object for every one of them, four times a call.
// Bytes fields are views of the message (no copy). Anything malformed — a truncated field, a
// length past the end, a wire type protobuf does not use any more — throws.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

export class ProtoError extends Error {}

export class ProtoReader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** The next field's number and wire type, as one key (field × 8 + wire type). */
  key(): number {
    return this.varint();
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError('truncated varint');
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
    throw new ProtoError('varint longer than 10 bytes');
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new ProtoError('truncated double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field's bounds: [start, end), and the reader moved past it. */
  span(): [number, number] {
    const length = this.varint();
    const start = this.pos;
    const end = start + length;
    if (end > this.end) throw new ProtoError('length past the end of the message');
    this.pos = end;
    return [start, end];
  }

  /** A nested message's reader (the reader moved past it). */
  sub(): ProtoReader {
    const [start, end] = this.span();
    return new ProtoReader(this.buf, start, end);
  }

  string(): string {
    const [start, end] = this.span();
    return this.buf.toString('utf8', start, end);
  }

  bytes(): Buffer {
    const [start, end] = this.span();
    return this.buf.subarray(start, end);
  }

  /** Each occurrence of a length-delimited field (a repeated message, a map's entries) read by `visit`, the other fields skipped, to the end. */
  each(key: number, visit: (sub: ProtoReader) => void): void {
    while (!this.done) {
      const k = this.key();
      if (k === key) visit(this.sub());
      else this.skip(k);
    }
  }

  /** Skips the field whose key was just read. */
  skip(key: number): void {
    switch (key & 7) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LENGTH:
        this.span();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        throw new ProtoError(`wire type ${key & 7} (field ${Math.floor(key / 8)})`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new ProtoError('truncated field');
    this.pos += n;
  }
}

/** A length-delimited field's key (field × 8 + 2). */
export const lengthKey = (field: number): number => field * 8 + WIRE_LENGTH;
/** A varint field's key (field × 8). */
export const varintKey = (field: number): number => field * 8 + WIRE_VARINT;
/** A 64-bit fixed field's key (field × 8 + 1): a double. */
export const fixed64Key = (field: number): number => field * 8 + WIRE_FIXED64;
