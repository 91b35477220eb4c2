// A call's budget arithmetic, pure: what it reserves before it goes and what it costs when it
// ends (BUDGET_METADATA says where Envoy reads them).
//   - Tokens reserved: the request body's length in bytes bounds its prompt tokens (a token is
//     at least one byte of what the model reads, and the body holds all of it plus JSON), plus
//     what the call may generate: max_completion_tokens, max_tokens (OpenAI's and Anthropic's) or
//     max_output_tokens (OpenAI's Responses), else the default. An
//     embeddings call generates none; counting tokens at a service without a count API, one.
//   - Cost: tokens at the model's price per million, in micro-units of the currency, rounded up
//     (a budget is never undercharged by rounding).
import type { LlmOperation } from '../../shared/llm-gateway.js';
import type { Usage } from '../openai/usage.js';

/** [input, output]: currency units per million tokens. */
export type Price = readonly [number, number];

export interface Reservation {
  readonly tokens: number;
  /** Micro-units; absent when the model has no price. */
  readonly costMicros?: number;
}

/** The output a call may generate, as its body bounds it. */
function outputBound(parsed: Readonly<Record<string, unknown>>, operation: LlmOperation, defaultMaxTokens: number): number {
  if (operation === 'embeddings') return 0;
  if (operation === 'count_tokens') return 1;
  for (const field of ['max_completion_tokens', 'max_tokens', 'max_output_tokens']) {
    const v = parsed[field];
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  }
  return defaultMaxTokens;
}

/** Micro-units of `input` and `output` tokens at `price` (per million tokens: one token costs price micro-units). */
export function costMicros(input: number, output: number, price: Price): number {
  // A float product such as 0.15 × 1000 may land a hair above its integer: that hair is not a micro-unit.
  return Math.max(0, Math.ceil(input * price[0] + output * price[1] - 1e-9));
}

export function reservationOf(bodyBytes: number, parsed: Readonly<Record<string, unknown>>, operation: LlmOperation, defaultMaxTokens: number, price: Price | undefined): Reservation {
  const output = outputBound(parsed, operation, defaultMaxTokens);
  return { tokens: bodyBytes + output, ...(price ? { costMicros: costMicros(bodyBytes, output, price) } : {}) };
}

/**
 * What an ended call is charged: its usage when the answer reported one; without one, a call
 * that reserved and succeeded keeps its reservation (what it used is not known), one that failed
 * is charged nothing — and a call that reserved nothing (no budgets) has nothing to say.
 */
export function chargeOf(usage: Usage | undefined, status: number, reserved: Reservation | undefined, price: Price | undefined): Reservation | undefined {
  if (usage) return { tokens: usage.totalTokens, ...(price ? { costMicros: costMicros(usage.promptTokens, usage.completionTokens, price) } : {}) };
  if (!reserved) return undefined;
  return status >= 200 && status < 300 ? reserved : { tokens: 0, ...(reserved.costMicros !== undefined ? { costMicros: 0 } : {}) };
}
