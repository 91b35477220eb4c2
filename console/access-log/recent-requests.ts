// The window of recent requests: a ring of at most `capacity` records (the oldest go first), and
// the searches the console offers — by request id, status (or class: "5xx"), service — newest
// first, at most `limit` answers. A search walks the ring once: bounded by the capacity.
import type { RequestRecord } from './request-record.js';

export interface RequestQuery {
  readonly requestId?: string;
  /** "404", or a class: "4xx", "5xx". */
  readonly status?: string;
  readonly service?: string;
  readonly limit?: number;
}

export class RecentRequests {
  private readonly ring: Array<RequestRecord | undefined>;
  private next = 0;
  private size = 0;
  /** Records taken since the start (the window keeps the last `capacity`). */
  received = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<RequestRecord | undefined>(capacity);
  }

  add(r: RequestRecord): void {
    this.ring[this.next] = r;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
    this.received += 1;
  }

  get kept(): number {
    return this.size;
  }

  search(q: RequestQuery): RequestRecord[] {
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1_000);
    const status = q.status?.trim().toLowerCase();
    const cls = status && /^[1-5]xx$/.test(status) ? Number(status[0]) : undefined;
    const exact = status && /^\d{3}$/.test(status) ? Number(status) : undefined;
    const out: RequestRecord[] = [];
    for (let i = 1; i <= this.size && out.length < limit; i++) {
      const r = this.ring[(this.next - i + this.capacity) % this.capacity]!;
      if (q.requestId && !r.requestId.includes(q.requestId)) continue;
      if (q.service && r.service !== q.service) continue;
      if (cls !== undefined && Math.floor(r.status / 100) !== cls) continue;
      if (exact !== undefined && r.status !== exact) continue;
      out.push(r);
    }
    return out;
  }
}
