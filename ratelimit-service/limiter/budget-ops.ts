// Budgets reserved before a call and settled when it ends — meshgate's extension of the rate
// limit protocol, carried in the descriptors Envoy already sends (no new RPC):
//   - a descriptor whose last entry is `meshgate_reserve: <call id>` reserves its hits on the
//     counter of the other entries, only if they fit under the limit: a refused reservation
//     adds nothing (where a plain descriptor counts even its over-limit hits). The reservation
//     is filed under the call id beside its counter.
//   - `meshgate_settle: <call id>` (on stream done) replaces that reservation by the hits the
//     call really cost: the counter moves by the difference, up or down, in the reservation's
//     own window. No reservation under that id (it was refused, or its window has ended):
//     nothing moves.
// A reservation the backend cannot make fails the whole answer (gRPC UNAVAILABLE): the gateway's
// failure mode for budgets decides, refusing the call unless the operator chose otherwise.
// Envoy's hits_addend cannot be negative, so a refund needs the service to know what was
// reserved: it keeps it, keyed by the call, which also makes a settlement count once.
import { BUDGET_ENTRY } from '../../shared/llm-gateway.js';
import type { Entry } from '../rules/match.js';


/** A call id: what the processor mints (letters, digits, - and _), bounded. */
const CALL_ID = /^[A-Za-z0-9_-]{1,64}$/;

export type BudgetOp = { readonly kind: 'reserve' | 'settle'; readonly id: string; readonly entries: readonly Entry[] };

/** The budget operation a descriptor asks for, with the entries its counter is keyed by; undefined for a plain descriptor. */
export function budgetOpOf(entries: readonly Entry[]): BudgetOp | { readonly error: string } | undefined {
  const last = entries[entries.length - 1];
  if (!last || (last.key !== BUDGET_ENTRY.reserve && last.key !== BUDGET_ENTRY.settle)) return undefined;
  if (!CALL_ID.test(last.value)) return { error: `${last.key} must name a call id of 1 to 64 letters, digits, '-' or '_'` };
  if (entries.length < 2) return { error: `${last.key} needs the entries of the budget it applies to before it` };
  return { kind: last.key === BUDGET_ENTRY.reserve ? 'reserve' : 'settle', id: last.value, entries: entries.slice(0, -1) };
}

/** Where a counter's open reservations are kept: beside it (the same Redis Cluster hash slot, by the hash tag). */
export function reservationsKey(counterKey: string): string {
  return `meshgate_reservations{${counterKey}}`;
}
