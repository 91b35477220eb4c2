// One JSON line per decision: what a security team audits. It names the policy, the caller and
// the reason — never a key, password or token (it is given none: only the decision's fields).
//
// The line is pino's shape (level, time, component, log, the fields, msg) but built here: pino's
// serializer and ISO timestamp were the largest single item in a check's profile, and a
// template with JSON.stringify for every string costs a third of that (bench/RESULTS.md). The
// destination is pino's (sonic-boom): written in batches, off the request path.
import { pino } from 'pino';
import type { Decision } from './authorize.js';
import type { CheckAttributes } from './request.js';

export type DecisionLogMode = 'all' | 'deny' | 'off';

/** Lines are written in 4 KiB batches; what is left is written at least this often. */
const FLUSH_MS = 1_000;
/**
 * The most the log holds back while its destination (stdout) is slower than the decisions: past
 * it, lines are dropped and counted (meshgate_authz_decision_log_dropped_total), never held
 * without bound. 3,900 checks a second write about 1 MB a second.
 */
export const DECISION_LOG_MAX_PENDING_BYTES = 8 * 1024 * 1024;

export interface LineSink {
  write(line: string): unknown;
  flush?(): unknown;
  flushSync?(): unknown;
  /** sonic-boom's: `drop` with what did not fit. */
  on?(event: 'drop', listener: (data: string) => void): unknown;
}

const q = JSON.stringify;

export class DecisionLog {
  private readonly sink: LineSink | undefined;
  private readonly flusher: NodeJS.Timeout | undefined;
  private lastMs = 0;
  private lastIso = '';

  constructor(
    private readonly mode: DecisionLogMode,
    sink?: LineSink,
    /** Lines dropped because the destination fell too far behind. */
    onDropped: (lines: number) => void = () => undefined,
  ) {
    this.sink = mode === 'off' ? undefined : (sink ?? pino.destination({ dest: 1, sync: false, minLength: 4096, maxLength: DECISION_LOG_MAX_PENDING_BYTES }));
    this.sink?.on?.('drop', (data) => onDropped(countLines(data)));
    // Without it, the last decisions of a quiet minute would wait for the next 4 KiB.
    this.flusher = this.sink?.flush ? setInterval(() => this.sink?.flush?.(), FLUSH_MS) : undefined;
    this.flusher?.unref();
  }

  record(req: CheckAttributes, d: Decision, micros: number): void {
    if (!this.sink) return;
    if (this.mode === 'deny' && d.allowed && !d.wouldDeny) return;
    const identity = d.identity;
    let line = `{"level":30,"time":"${this.isoNow()}","component":"ext-authz","log":"decision","request_id":${q(req.requestId)},"policy":${q(d.allowed ? d.policy.name : d.policyName)}`;
    if (req.route !== undefined) line += `,"route":${q(req.route)}`;
    line += `,"method":${q(req.method)},"path":${q(req.path)}`;
    line += `,"decision":"${d.allowed ? (d.wouldDeny ? 'would_deny' : 'allow') : 'deny'}","status":${d.allowed ? (d.wouldDeny?.status ?? 200) : d.status}`;
    line += `,"reason":${q(d.allowed ? (d.wouldDeny?.reason ?? d.reason) : d.reason)}`;
    if (identity) {
      line += `,"subject":${q(identity.subject)}`;
      if (identity.tenant !== undefined) line += `,"tenant":${q(identity.tenant)}`;
      line += `,"credential":${q(identity.credential)}`;
      if (identity.keyId !== undefined) line += `,"key_id":${q(identity.keyId)}`;
    }
    this.sink.write(`${line},"duration_us":${micros},"msg":"decision"}\n`);
  }

  /** On the way out: what is buffered is written before the process ends. */
  flush(): void {
    clearInterval(this.flusher);
    try {
      if (this.sink?.flushSync) this.sink.flushSync();
      else this.sink?.flush?.();
    } catch {
      this.sink?.flush?.(); // a full pipe (EAGAIN): leave it to the asynchronous write
    }
  }

  /** The ISO time, made once per millisecond. */
  private isoNow(): string {
    const now = Date.now();
    if (now !== this.lastMs) {
      this.lastMs = now;
      this.lastIso = new Date(now).toISOString();
    }
    return this.lastIso;
  }
}

function countLines(data: string): number {
  let n = 0;
  for (let i = data.indexOf('\n'); i >= 0; i = data.indexOf('\n', i + 1)) n += 1;
  return n;
}
