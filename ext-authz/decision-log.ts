// One JSON line per decision: what a security team audits. It names the policy, the caller and
// the reason — never a key, password or token.
import { pino, type Logger } from 'pino';
import type { Decision } from './authorize.js';
import type { CheckAttributes } from './request.js';

export type DecisionLogMode = 'all' | 'deny' | 'off';

/** Lines are written in 4 KiB batches; what is left is written at least this often. */
const FLUSH_MS = 1_000;

export class DecisionLog {
  private readonly log: Logger | undefined;
  private readonly flusher: NodeJS.Timeout | undefined;

  constructor(private readonly mode: DecisionLogMode) {
    this.log =
      mode === 'off'
        ? undefined
        : pino(
            { base: { component: 'ext-authz', log: 'decision' }, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' },
            pino.destination({ dest: 1, sync: false, minLength: 4096 }),
          );
    // Without it, the last decisions of a quiet minute would wait for the next 4 KiB.
    this.flusher = this.log ? setInterval(() => this.log?.flush(), FLUSH_MS) : undefined;
    this.flusher?.unref();
  }

  record(req: CheckAttributes, d: Decision, micros: number): void {
    if (!this.log) return;
    const denied = !d.allowed;
    if (this.mode === 'deny' && !denied && !(d.allowed && d.wouldDeny)) return;
    const identity = d.identity;
    this.log.info(
      {
        request_id: req.requestId,
        policy: d.allowed ? d.policy.name : d.policyName,
        route: req.route,
        method: req.method,
        path: req.path,
        decision: d.allowed ? (d.wouldDeny ? 'would_deny' : 'allow') : 'deny',
        status: d.allowed ? (d.wouldDeny?.status ?? 200) : d.status,
        reason: d.allowed ? (d.wouldDeny?.reason ?? d.reason) : d.reason,
        subject: identity?.subject,
        tenant: identity?.tenant,
        credential: identity?.credential,
        key_id: identity?.keyId,
        duration_us: micros,
      },
      'decision',
    );
  }

  flush(): void {
    clearInterval(this.flusher);
    this.log?.flush();
  }
}
