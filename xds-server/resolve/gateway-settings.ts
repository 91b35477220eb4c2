// What the xds-server's flags say about every gateway: the identity headers, and the filters
// that call infrastructure services (ext-authz, rate limits, the LLM processor, the access log).
// Fixed for the server's life; part of the resolved gateway, so that translation reads nothing else.
import type { RateLimitDescriptor } from '../model/mesh.js';

export interface AuthzSettings {
  /** The ext-authz service name in Consul (its cluster). */
  readonly service: string;
  readonly timeoutMs: number;
  /** The policy for routes whose service names none. */
  readonly defaultPolicy: string;
}

export interface RatelimitSettings {
  /** The ratelimit-service name in Consul (its cluster). */
  readonly service: string;
  readonly domain: string;
  readonly timeoutMs: number;
  /** Refuse requests when the rate-limit service cannot be asked (default: let them through). */
  readonly failClosed: boolean;
}

export interface LlmSettings {
  /** The LLM processor's service name in Consul (its cluster). */
  readonly service: string;
  /** How long the gateway waits for each of the processor's answers. */
  readonly timeoutMs: number;
  /** The model API routes' body limit (the service is not known before the body is read). */
  readonly maxRequestBytes: number;
  /** Token budget descriptors (needs the rate-limit service): reserved before a call, settled after. */
  readonly tokenBudgets?: readonly RateLimitDescriptor[];
  /** Cost budget descriptors, the same way, in micro-units of the models' prices. */
  readonly costBudgets?: readonly RateLimitDescriptor[];
  /** What a call without max_tokens reserves for its answer. */
  readonly budgetDefaultMaxTokens?: number;
  /**
   * Let a budgeted call through, unreserved and never charged, when its reservation cannot be
   * made (the rate-limit service or its Redis unreachable); by default such a call is refused.
   */
  readonly budgetsFailOpen?: boolean;
  /** Request-count descriptors counted once the model is known (a `model` entry among them, say). */
  readonly modelRequestLimits?: readonly RateLimitDescriptor[];
}

export interface GatewaySettings {
  /** Request headers only ext-authz may set; client-sent copies are always removed. */
  readonly identityHeaders: readonly string[];
  /** When set, every route is checked by ext-authz unless its policy is "none". */
  readonly authz?: AuthzSettings;
  /** When set, routes with rate-limit descriptors ask the rate-limit service. */
  readonly ratelimit?: RatelimitSettings;
  /** When set (and services declare models), the model API is routed by model through the LLM processor. */
  readonly llm?: LlmSettings;
  /** When set, the gateway's access log also goes to this gRPC access-log service (the console). */
  readonly accessLog?: { readonly service: string; readonly timeoutMs: number };
}

/** What the model routes count once the model is known; at least one descriptor. */
export interface ModelLimits {
  readonly tokenBudgets: readonly RateLimitDescriptor[];
  readonly costBudgets: readonly RateLimitDescriptor[];
  readonly requestLimits: readonly RateLimitDescriptor[];
  /** With budgets: what a call without max_tokens reserves for its answer. */
  readonly budgetDefaultMaxTokens: number;
  /** Refuse the call (503) when these cannot be counted. */
  readonly failClosed: boolean;
}

export const DEFAULT_BUDGET_MAX_TOKENS = 4096;

/** The model limits in force: none without the rate-limit service that counts them, or without descriptors. */
export function modelLimitsOf(s: GatewaySettings): ModelLimits | undefined {
  const tokenBudgets = s.llm?.tokenBudgets ?? [];
  const costBudgets = s.llm?.costBudgets ?? [];
  const requestLimits = s.llm?.modelRequestLimits ?? [];
  if (!s.ratelimit || !(tokenBudgets.length || costBudgets.length || requestLimits.length)) return undefined;
  // A budget a call may pass unreserved is a budget that can be overrun: budgets fail closed unless
  // the operator chose otherwise; request counts alone follow the rate limits' failure mode.
  const budgeted = tokenBudgets.length > 0 || costBudgets.length > 0;
  const failClosed = s.ratelimit.failClosed || (budgeted && !s.llm?.budgetsFailOpen);
  return { tokenBudgets, costBudgets, requestLimits, budgetDefaultMaxTokens: s.llm?.budgetDefaultMaxTokens ?? DEFAULT_BUDGET_MAX_TOKENS, failClosed };
}
