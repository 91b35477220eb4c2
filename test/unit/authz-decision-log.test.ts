// The decision log's lines: one JSON object each, pino's shape, every field a security team
// reads, strings escaped, absent fields left out, and in "deny" mode only what was (or would
// have been) denied.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Decision } from '../../ext-authz/authorize.js';
import { DecisionLog } from '../../ext-authz/decision-log.js';
import type { CompiledPolicy } from '../../ext-authz/policy/compile.js';
import { attributesOf } from '../../ext-authz/request.js';

const policy = { name: 'llm-clients' } as CompiledPolicy;
const req = attributesOf('POST', '/v1/chat?x="y"\n', { 'x-api-key': 'mgk_secret_never_logged' }, { policy: 'llm-clients', route: 'llm:/v1/' }, 'req-1', '10.0.0.7');
const allowed: Decision = { allowed: true, policy, identity: { subject: 'bot "7"', tenant: 't1', scopes: [], credential: 'api_key', keyId: 'k1' }, reason: 'allowed' };
const denied: Decision = { allowed: false, policy, policyName: 'llm-clients', status: 401, reason: 'the API key is not known', challenges: [], identity: undefined };

function lines(mode: 'all' | 'deny', decisions: Decision[]): Array<Record<string, unknown>> {
  const out: string[] = [];
  const log = new DecisionLog(mode, { write: (l) => out.push(l) });
  for (const d of decisions) log.record(req, d, 42);
  log.flush();
  return out.map((l) => {
    assert.ok(l.endsWith('}\n') && !l.slice(0, -1).includes('\n'), 'one line each');
    return JSON.parse(l) as Record<string, unknown>;
  });
}

describe('the decision log', () => {
  it('writes pino-shaped JSON lines with the decision, the caller and escaped strings', () => {
    const [a, d] = lines('all', [allowed, denied]);
    assert.deepEqual(Object.keys(a!), ['level', 'time', 'component', 'log', 'request_id', 'policy', 'route', 'method', 'path', 'decision', 'status', 'reason', 'subject', 'tenant', 'credential', 'key_id', 'duration_us', 'msg']);
    assert.equal(a!['level'], 30);
    assert.ok(!Number.isNaN(Date.parse(a!['time'] as string)));
    assert.deepEqual(
      { ...a, time: undefined },
      { level: 30, time: undefined, component: 'ext-authz', log: 'decision', request_id: 'req-1', policy: 'llm-clients', route: 'llm:/v1/', method: 'POST', path: '/v1/chat', decision: 'allow', status: 200, reason: 'allowed', subject: 'bot "7"', tenant: 't1', credential: 'api_key', key_id: 'k1', duration_us: 42, msg: 'decision' },
    );
    assert.equal(d!['decision'], 'deny');
    assert.equal(d!['status'], 401);
    assert.equal('subject' in d!, false, 'no caller, no subject field');
  });

  it('keeps only denials (and dry-run would-denies) in "deny" mode, and never a credential', () => {
    const wouldDeny: Decision = { ...allowed, wouldDeny: { status: 403, reason: 'no allow rule matches' } } as Decision;
    const kept = lines('deny', [allowed, denied, wouldDeny]);
    assert.deepEqual(kept.map((l) => l['decision']), ['deny', 'would_deny']);
    assert.ok(!JSON.stringify(kept).includes('mgk_secret_never_logged'));
  });

  it('counts the lines its destination dropped for being too far behind, instead of holding them without bound', () => {
    const dropped: number[] = [];
    const listeners: Array<(data: string) => void> = [];
    const log = new DecisionLog('all', { write: () => undefined, on: (_e, l) => listeners.push(l) }, (n) => dropped.push(n));
    log.record(req, allowed, 1);
    assert.equal(listeners.length, 1, 'listening for drops');
    listeners[0]!('{"a":1}\n{"a":2}\n{"a":3}\n');
    assert.deepEqual(dropped, [3]);
  });
});
