// Stops asking a backend that keeps failing: after `failureThreshold` failures in a row the
// circuit opens and calls fail at once; after `openMs` one call is let through to probe; a
// success closes the circuit, a failure opens it again for twice as long (up to `maxOpenMs`).
// So an outage costs the timeout on the first few requests only, not on every one.
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitOptions {
  readonly failureThreshold: number;
  readonly openMs: number;
  readonly maxOpenMs: number;
  readonly now?: () => number;
  /** Called when the circuit opens after being closed, and when it closes again. */
  readonly onChange?: (open: boolean) => void;
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private currentOpenMs: number;
  private probing = false;
  private _state: CircuitState = 'closed';

  constructor(private readonly options: CircuitOptions) {
    this.currentOpenMs = options.openMs;
  }

  get state(): CircuitState {
    return this._state;
  }

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  /** Would `allow()` refuse now? (Asks without taking a half-open circuit's one probe.) */
  blocked(): boolean {
    if (this._state === 'closed') return false;
    if (this._state === 'open') return this.now() - this.openedAt < this.currentOpenMs;
    return this.probing;
  }

  /** May a call go to the backend now? A yes from a half-open circuit is its one probe. */
  allow(): boolean {
    if (this.blocked()) return false;
    if (this._state !== 'closed') {
      this._state = 'half-open';
      this.probing = true;
    }
    return true;
  }

  success(): void {
    const wasOpen = this._state !== 'closed';
    this.failures = 0;
    this.probing = false;
    this._state = 'closed';
    this.currentOpenMs = this.options.openMs;
    if (wasOpen) this.options.onChange?.(false);
  }

  failure(): void {
    this.failures += 1;
    if (this._state === 'half-open') {
      this.currentOpenMs = Math.min(this.options.maxOpenMs, this.currentOpenMs * 2);
      this.open();
    } else if (this._state === 'closed' && this.failures >= this.options.failureThreshold) {
      this.open();
      this.options.onChange?.(true);
    }
  }

  private open(): void {
    this._state = 'open';
    this.openedAt = this.now();
    this.probing = false;
  }
}
