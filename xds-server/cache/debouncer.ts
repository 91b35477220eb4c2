// Coalesces bursts of changes: run `fn` once things have been quiet for `quietMs`, but never
// later than `maxDelayMs` after the first change of a burst, so a steady stream of changes
// cannot starve the proxies.
export class Debouncer {
  private quietTimer: NodeJS.Timeout | undefined;
  private maxTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly fn: () => void,
    private readonly quietMs: number,
    private readonly maxDelayMs: number,
  ) {
    if (quietMs > maxDelayMs) throw new Error('quietMs must not exceed maxDelayMs');
  }

  trigger(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.fire(), this.quietMs);
    if (!this.maxTimer) this.maxTimer = setTimeout(() => this.fire(), this.maxDelayMs);
  }

  /** Run now if something is pending. */
  flush(): void {
    if (this.quietTimer || this.maxTimer) this.fire();
  }

  cancel(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    if (this.maxTimer) clearTimeout(this.maxTimer);
    this.quietTimer = this.maxTimer = undefined;
  }

  private fire(): void {
    this.cancel();
    this.fn();
  }
}
