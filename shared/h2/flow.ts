// Flow control (RFC 9113 section 5.2, 6.9): a window this side may send into, and one it has
// granted the peer. Neither may pass 2^31-1 (section 6.9.1); a send window may go negative
// when the peer lowers SETTINGS_INITIAL_WINDOW_SIZE (section 6.9.2); a peer that sends more
// than it was granted breaks the protocol.

export const MAX_WINDOW = 2 ** 31 - 1;
/** Every window's size until SETTINGS says otherwise (section 6.9.2). */
export const INITIAL_WINDOW = 65_535;

/** What the peer lets this side send. */
export class SendWindow {
  constructor(private size: number) {}

  get available(): number {
    return this.size;
  }

  /** WINDOW_UPDATE or a SETTINGS change; false (and unchanged) when it would pass 2^31-1. */
  grow(delta: number): boolean {
    if (this.size + delta > MAX_WINDOW) return false;
    this.size += delta;
    return true;
  }

  take(n: number): void {
    this.size -= n;
  }
}

/**
 * What this side lets the peer send: `granted` bytes are open to it; credit is given back in
 * large steps (half the target) so that a busy connection sends few WINDOW_UPDATEs.
 */
export class ReceiveWindow {
  private open: number;

  constructor(
    /** What the window is kept near, once the first credit went out. */
    private readonly target: number,
    /** What the peer may send before any WINDOW_UPDATE (65,535, or the SETTINGS value). */
    initial: number,
  ) {
    this.open = initial;
  }

  /** A flow-controlled frame arrived; false when it is more than the peer was granted. */
  receive(n: number): boolean {
    if (n > this.open) return false;
    this.open -= n;
    return true;
  }

  /** The WINDOW_UPDATE increment to send now, or 0. */
  creditDue(): number {
    const due = this.target - this.open;
    if (due < this.target / 2) return 0;
    this.open += due;
    return due;
  }
}
