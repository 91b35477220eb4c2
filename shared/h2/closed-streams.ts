// The last streams that closed, to tell "closed" (STREAM_CLOSED) from "never opened" (PROTOCOL_ERROR)
// and to ignore the late frames of streams this side reset (RFC 9113 §5.1, §5.4.2).
//
// A ring of typed arrays, not a Map: a Map used as a FIFO (set one, delete the oldest, per
// stream) re-allocates its table every few hundred streams, and at a high stream rate that
// churn was promoted to the old generation faster than anything else in the process
// (bench/RESULTS.md, issue 9). Lookups scan the ring, but happen only for frames on streams
// that are gone — the rare path.
export class ClosedStreams {
  private readonly ids: Uint32Array;
  private readonly resetByUs: Uint8Array;
  private next = 0;

  constructor(readonly size = 256) {
    this.ids = new Uint32Array(size); // stream id 0 is never a stream: empty slots never match
    this.resetByUs = new Uint8Array(size);
  }

  add(id: number, resetByUs: boolean): void {
    this.ids[this.next] = id;
    this.resetByUs[this.next] = resetByUs ? 1 : 0;
    this.next = (this.next + 1) % this.size;
  }

  /** true: this side reset it; false: it closed otherwise; undefined: not among the last ones. */
  get(id: number): boolean | undefined {
    for (let i = 0; i < this.size; i++) if (this.ids[i] === id) return this.resetByUs[i] === 1;
    return undefined;
  }
}
