// The clock the descriptor source waits on, injected so that tests drive time themselves.
export interface Scheduler {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's timers, never keeping the process alive. */
export const REAL_TIME: Scheduler = {
  setTimeout(run, ms) {
    const t = setTimeout(run, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
