// The decision for one request: find the route's policy, establish who the caller is from the
// first credential it presents, then apply the policy's rules. Anything unexpected denies.
import type { CallContext } from '../shared/grpc/unary-server.js';
import type { Identity } from './identity.js';
import type { CompiledPolicy } from './policy/compile.js';
import { evaluateRules } from './policy/rules.js';
import type { CheckAttributes } from './request.js';

export type Decision =
  | {
      readonly allowed: true;
      readonly policy: CompiledPolicy;
      readonly identity: Identity | undefined;
      readonly reason: string;
      /** In dry run: what would have been denied, and why. */
      readonly wouldDeny?: { readonly status: 401 | 403; readonly reason: string };
    }
  | {
      readonly allowed: false;
      readonly policy: CompiledPolicy | undefined;
      readonly policyName: string;
      readonly status: 401 | 403;
      readonly reason: string;
      readonly challenges: readonly string[];
      readonly identity: Identity | undefined;
    };

type Outcome =
  | { ok: true; identity: Identity }
  | { ok: false; status: 401 | 403; reason: string; challenges: readonly string[]; identity?: Identity };

async function judge(policy: CompiledPolicy, req: CheckAttributes, call: CallContext | undefined): Promise<Outcome> {
  let identity: Identity | undefined;
  for (const credential of policy.credentials) {
    const raw = credential.find(req);
    if (raw === undefined) continue;
    const v = await credential.verify(raw, req, call);
    // A credential that is present but wrong decides: no falling through to the next kind.
    if (!v.ok) return { ok: false, status: 401, reason: v.reason, challenges: v.challenge ? [v.challenge] : policy.challenges };
    identity = v.identity;
    break;
  }
  if (!identity) return { ok: false, status: 401, reason: 'credentials are required', challenges: policy.challenges };
  const rules = evaluateRules(policy.rules, identity, req.method, req.path);
  if (!rules.allowed) return { ok: false, status: 403, reason: rules.reason, challenges: [], identity };
  return { ok: true, identity };
}

/** A denial before any policy applies (no policy, an unreadable request, an internal error). */
export function denied(policyName: string, reason: string): Decision {
  return { allowed: false, policy: undefined, policyName, status: 403, reason, challenges: [], identity: undefined };
}

export async function authorize(policies: ReadonlyMap<string, CompiledPolicy>, req: CheckAttributes, call?: CallContext): Promise<Decision> {
  const name = req.policy;
  if (!name) return denied('', 'the route names no policy');
  const policy = policies.get(name);
  if (!policy) return denied(name, `policy "${name}" is not defined`);
  let outcome: Outcome;
  try {
    outcome = await judge(policy, req, call);
  } catch (err) {
    outcome = { ok: false, status: 401, reason: `credentials could not be checked: ${(err as Error).message}`, challenges: policy.challenges };
  }
  if (outcome.ok) return { allowed: true, policy, identity: outcome.identity, reason: 'allowed' };
  if (policy.dryRun) {
    return { allowed: true, policy, identity: outcome.identity, reason: 'dry run', wouldDeny: { status: outcome.status, reason: outcome.reason } };
  }
  return {
    allowed: false,
    policy,
    policyName: name,
    status: outcome.status,
    reason: outcome.reason,
    challenges: outcome.challenges,
    identity: outcome.identity,
  };
}
