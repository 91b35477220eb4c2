// The gRPC server Envoy's ext_authz filter calls (envoy.service.auth.v3.Authorization/Check),
// with the gRPC health service beside it. Requests are decoded by us and answers are bytes we
// prepared, so grpc-js does no protobuf work of its own.
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { authorize, type Decision } from '../authorize.js';
import type { DecisionLog } from '../decision-log.js';
import type { AuthzMetrics } from '../metrics.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { CheckAttributes } from '../request.js';
import { decodeCheckRequest, MALFORMED, type CheckResponses } from './check-codec.js';

export const AUTHORIZATION_SERVICE = 'envoy.service.auth.v3.Authorization';

const definition: grpc.ServiceDefinition = {
  Check: {
    path: `/${AUTHORIZATION_SERVICE}/Check`,
    requestStream: false,
    responseStream: false,
    requestSerialize: () => {
      throw new Error('server side only');
    },
    requestDeserialize: decodeCheckRequest,
    responseSerialize: (bytes: Buffer) => bytes,
    responseDeserialize: (bytes: Buffer) => bytes,
  },
};

export interface AuthorizationServerDeps {
  readonly store: PolicyStore;
  readonly responses: CheckResponses;
  readonly metrics: AuthzMetrics;
  readonly decisions: DecisionLog;
  readonly log: Logger;
}

function resultLabel(d: Decision): string {
  if (d.allowed) return d.wouldDeny ? 'dry_run_allowed' : 'allowed';
  return d.status === 401 ? 'unauthenticated' : 'forbidden';
}

export class AuthorizationServer {
  readonly health = new HealthImplementation({ '': 'NOT_SERVING', [AUTHORIZATION_SERVICE]: 'NOT_SERVING' });
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });

  constructor(private readonly deps: AuthorizationServerDeps) {
    this.server.addService(definition, {
      Check: (call: grpc.ServerUnaryCall<CheckAttributes, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        void this.check(call.request).then((bytes) => callback(null, bytes));
      },
    });
    this.health.addToServer(this.server);
  }

  setServing(serving: boolean): void {
    const s = serving ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', s);
    this.health.setStatus(AUTHORIZATION_SERVICE, s);
  }

  /** Decide and encode; never throws, and anything unexpected is a denial. */
  async check(req: CheckAttributes): Promise<Buffer> {
    const { store, responses, metrics, decisions, log } = this.deps;
    const started = process.hrtime.bigint();
    let decision: Decision;
    try {
      decision =
        req === MALFORMED
          ? { allowed: false, policy: undefined, policyName: '', status: 403, reason: 'the check request could not be read', challenges: [], identity: undefined }
          : await authorize(store.items, req);
    } catch (err) {
      log.error({ err }, 'authorization failed; denying');
      decision = { allowed: false, policy: undefined, policyName: req.policy ?? '', status: 403, reason: 'internal error', challenges: [], identity: undefined };
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

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1_000);
      this.server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
