// ext-authz's gRPC side: envoy.service.auth.v3.Authorization/Check (and grpc.health.v1).
import type { Logger } from 'pino';
import { callGauges, peerErrorReporter } from '../../shared/grpc/h2-metrics.js';
import { UnaryGrpcServer, type CallContext } from '../../shared/grpc/unary-server.js';
import type { H2Limits } from '../../shared/h2/limits.js';
import { authorize, denied, type Decision } from '../authorize.js';
import type { DecisionLog } from '../decision-log.js';
import type { AuthzMetrics } from '../metrics.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { CheckAttributes } from '../request.js';
import { decodeCheckRequest, MALFORMED, type CheckResponses } from './check-codec.js';

export const AUTHORIZATION_SERVICE = 'envoy.service.auth.v3.Authorization';

export interface AuthorizationServerDeps {
  readonly store: PolicyStore;
  readonly responses: CheckResponses;
  readonly metrics: AuthzMetrics;
  readonly decisions: DecisionLog;
  readonly log: Logger;
  readonly limits: H2Limits;
}

function resultLabel(d: Decision): string {
  if (d.allowed) return d.wouldDeny ? 'dry_run_allowed' : 'allowed';
  return d.status === 401 ? 'unauthenticated' : 'forbidden';
}

export class AuthorizationServer {
  readonly grpc: UnaryGrpcServer<CheckAttributes>;

  constructor(private readonly deps: AuthorizationServerDeps) {
    this.grpc = new UnaryGrpcServer({
      service: AUTHORIZATION_SERVICE,
      method: 'Check',
      decode: decodeCheckRequest,
      handle: (req, call) => this.check(req, call),
      onError: (err) => deps.log.error({ err }, 'Check failed'),
      onPeerError: peerErrorReporter(deps.log, deps.metrics.registry),
      limits: deps.limits,
    });
    callGauges(this.grpc, deps.metrics.registry);
  }

  /** Decide and encode; never throws, and anything unexpected is a denial. */
  async check(req: CheckAttributes, call?: CallContext): Promise<Buffer> {
    const { store, responses, metrics, decisions, log } = this.deps;
    const started = process.hrtime.bigint();
    let decision: Decision;
    try {
      decision = req === MALFORMED ? denied('', 'the check request could not be read') : await authorize(store.items, req, call);
    } catch (err) {
      log.error({ err }, 'authorization failed; denying');
      decision = denied(req.policy ?? '', 'internal error');
    }
    const bytes = responses.encode(decision);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const policy = decision.allowed ? decision.policy.name : decision.policy ? decision.policyName : 'undefined';
    metrics.decisions.inc({ policy, result: resultLabel(decision) });
    metrics.latency.observe({ policy }, seconds);
    if (decision.allowed && decision.wouldDeny) metrics.wouldDeny.inc({ policy });
    decisions.record(req, decision, Math.round(seconds * 1e6));
    return bytes;
  }
}
