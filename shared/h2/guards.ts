// The counters that turn a flood into an error instead of work: a token bucket for frames a
// peer may send only so often, and a byte budget shared by every connection of a server.

/** `burst` at once, then `perSecond`; take() is false once the peer has used them up. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(): boolean {
    if (this.tokens < 1) {
      const t = this.now();
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.perSecond) / 1000);
      this.last = t;
      if (this.tokens < 1) return false;
    }
    this.tokens -= 1;
    return true;
  }
}

/** Bytes held across connections (request bodies and header lists not yet handed over). */
export class ByteBudget {
  used = 0;
  constructor(readonly limit: number) {}

  /** Reserves `n` bytes if they fit. */
  reserve(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  /** Counts `n` bytes that are held already (answers waiting for the peer's window). */
  add(n: number): void {
    this.used += n;
  }

  release(n: number): void {
    this.used -= n;
  }
}
