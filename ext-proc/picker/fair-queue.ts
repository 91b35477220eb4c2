// The calls waiting for a saturated model pool: bounded, ordered by priority (critical, then
// standard; sheddable calls are never queued), and fair between tenants within a priority by
// weight — start-time fair queueing: each call gets a virtual finish time one unit over its
// weight past the later of its tenant's last one and the queue's virtual clock, and the earliest
// finish goes first, so a tenant with twice the weight gets twice the turns, and one that floods
// only lengthens its own line. Pure: the caller owns the timers and the answers.
export const PRIORITIES = ['critical', 'standard', 'sheddable'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const isPriority = (x: unknown): x is Priority => typeof x === 'string' && (PRIORITIES as readonly string[]).includes(x);

/** The lower of two priorities: a caller may lower its own, never raise it. */
export const lowerOf = (a: Priority, b: Priority): Priority => (PRIORITIES.indexOf(a) >= PRIORITIES.indexOf(b) ? a : b);

export interface Waiter {
  readonly priority: Exclude<Priority, 'sheddable'>;
  readonly tenant: string;
  /** ≥ 1. */
  readonly weight: number;
  readonly enqueuedAt: number;
}

interface Entry<T extends Waiter> {
  readonly item: T;
  readonly finish: number;
  readonly seq: number;
}

export class FairQueue<T extends Waiter> {
  private readonly lines: Record<Waiter['priority'], Array<Entry<T>>> = { critical: [], standard: [] };
  private readonly lastFinish = new Map<string, number>();
  private clock = 0;
  private seq = 0;

  constructor(private readonly max: number) {}

  get length(): number {
    return this.lines.critical.length + this.lines.standard.length;
  }

  count(priority: Waiter['priority']): number {
    return this.lines[priority].length;
  }

  /**
   * Adds a call; when the queue is full, a standard call is pushed out by a critical one (the
   * standard call that would be served last), else the newcomer is refused. Returns the call
   * that does not wait: the pushed-out one, the newcomer, or undefined.
   */
  push(item: T): T | undefined {
    let out: T | undefined;
    if (this.length >= this.max) {
      if (item.priority !== 'critical' || !this.lines.standard.length) return item;
      out = this.takeLast('standard');
    }
    const start = Math.max(this.clock, this.lastFinish.get(item.tenant) ?? 0);
    const finish = start + 1 / Math.max(1, item.weight);
    this.lastFinish.set(item.tenant, finish);
    this.lines[item.priority].push({ item, finish, seq: this.seq++ });
    return out;
  }

  /** The call to serve next: the highest priority, then the earliest virtual finish. */
  peek(): T | undefined {
    return this.head()?.entry.item;
  }

  shift(): T | undefined {
    const h = this.head();
    if (!h) return undefined;
    this.lines[h.priority].splice(h.index, 1);
    this.clock = Math.max(this.clock, h.entry.finish - 1 / Math.max(1, h.entry.item.weight));
    if (!this.length) this.forgetTenants();
    return h.entry.item;
  }

  /** Every call, in the order they would be served. */
  ordered(): T[] {
    return (['critical', 'standard'] as const).flatMap((priority) => [...this.lines[priority]].sort((a, b) => (servedBefore(a, b) ? -1 : servedBefore(b, a) ? 1 : 0)).map((e) => e.item));
  }

  /**
   * Takes a call out (it waited too long, or its caller left, or it goes ahead of its turn);
   * false when it was not here. One that goes ahead moves the virtual clock as a turn does.
   */
  remove(item: T, served = false): boolean {
    for (const p of ['critical', 'standard'] as const) {
      const i = this.lines[p].findIndex((e) => e.item === item);
      if (i >= 0) {
        const [entry] = this.lines[p].splice(i, 1);
        if (served) this.clock = Math.max(this.clock, entry!.finish - 1 / Math.max(1, entry!.item.weight));
        if (!this.length) this.forgetTenants();
        return true;
      }
    }
    return false;
  }

  private head(): { priority: Waiter['priority']; index: number; entry: Entry<T> } | undefined {
    for (const priority of ['critical', 'standard'] as const) {
      const line = this.lines[priority];
      if (!line.length) continue;
      const index = indexOfTurn(line, 'first');
      return { priority, index, entry: line[index]! };
    }
    return undefined;
  }

  private takeLast(priority: Waiter['priority']): T {
    const line = this.lines[priority];
    return line.splice(indexOfTurn(line, 'last'), 1)[0]!.item;
  }

  /** An empty queue starts everyone even again (and keeps no memory of tenants gone). */
  private forgetTenants(): void {
    this.lastFinish.clear();
    this.clock = 0;
  }
}

/** Whether `a` is served before `b`: the earlier virtual finish, then the earlier arrival. */
const servedBefore = (a: Entry<Waiter>, b: Entry<Waiter>): boolean => a.finish < b.finish || (a.finish === b.finish && a.seq < b.seq);

/** Where in a (non-empty) line the call served first, or last, stands. */
function indexOfTurn(line: ReadonlyArray<Entry<Waiter>>, which: 'first' | 'last'): number {
  let index = 0;
  for (let i = 1; i < line.length; i++) if (which === 'first' ? servedBefore(line[i]!, line[index]!) : servedBefore(line[index]!, line[i]!)) index = i;
  return index;
}
