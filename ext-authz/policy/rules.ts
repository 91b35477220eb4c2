// Rules: deny first, then allow. A rule matches when every condition it states holds; within a
// condition any listed value will do, except scopes, which the caller must hold all of. With
// no allow rule, an authenticated caller is allowed.
import type { Identity } from '../identity.js';
import type { RuleSpec } from './schema.js';

export interface RuleSet {
  readonly deny: readonly RuleSpec[];
  readonly allow: readonly RuleSpec[];
}

export type RuleOutcome = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

export function ruleMatches(rule: RuleSpec, identity: Identity, method: string, path: string): boolean {
  if (rule.subjects && !rule.subjects.includes(identity.subject)) return false;
  if (rule.tenants && !(identity.tenant && rule.tenants.includes(identity.tenant))) return false;
  if (rule.plans && !(identity.plan && rule.plans.includes(identity.plan))) return false;
  if (rule.credentials && !rule.credentials.includes(identity.credential)) return false;
  if (rule.scopes && !rule.scopes.every((s) => identity.scopes.includes(s))) return false;
  if (rule.methods && !rule.methods.includes(method)) return false;
  if (rule.path_prefixes && !rule.path_prefixes.some((p) => path.startsWith(p))) return false;
  return true;
}

export function evaluateRules(rules: RuleSet, identity: Identity, method: string, path: string): RuleOutcome {
  const denied = rules.deny.findIndex((r) => ruleMatches(r, identity, method, path));
  if (denied >= 0) return { allowed: false, reason: `denied by rule deny[${denied}]` };
  if (rules.allow.length === 0) return { allowed: true };
  if (rules.allow.some((r) => ruleMatches(r, identity, method, path))) return { allowed: true };
  return { allowed: false, reason: 'no allow rule matches this caller and request' };
}
