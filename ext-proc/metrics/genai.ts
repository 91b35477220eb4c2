// The LLM processor's metrics, named as OpenTelemetry's GenAI semantic conventions name them,
// in Prometheus form (dots to underscores, the unit as a suffix): token usage by type, the
// operation's duration, time to first token and time per output token, labelled by operation,
// model, service and tenant. Labels are bounded: past `maxValues` distinct values of a label,
// new ones are counted as "_other", so no caller can create series without end.
import { Counter, Registry } from 'prom-client';
import type { LlmOperation } from '../../shared/llm-gateway.js';
import type { Usage } from '../openai/usage.js';
import { SeriesHistogram } from './series-histogram.js';

export const OTHER = '_other';

/** Admits up to `max` distinct values; later ones read as OTHER. */
class BoundedValues {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  admit(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return OTHER;
    this.seen.add(value);
    return value;
  }
}

export interface CallFacts {
  /** gen_ai.operation.name: chat, text_completion, embeddings. */
  readonly operation: LlmOperation;
  readonly model: string;
  readonly service: string;
  readonly tenant: string;
  readonly usage: Usage | undefined;
  readonly durationSeconds: number;
  /** Streams only: from the request to the first content chunk. */
  readonly timeToFirstTokenSeconds?: number;
  /** At its model's price, in micro-units of the currency (a priced model's call whose usage is known). */
  readonly costMicros?: number;
  /** The API dialect the caller spoke, and the one its service spoke (the processor translated between them). */
  readonly clientDialect: string;
  readonly serviceDialect: string;
}

const LABELS = ['gen_ai_operation_name', 'gen_ai_request_model', 'service', 'tenant', 'client_dialect', 'service_dialect'] as const;

export class GenAiMetrics {
  readonly registry = new Registry();
  private readonly models: BoundedValues;
  private readonly tenants: BoundedValues;
  private readonly services: BoundedValues;

  readonly tokenUsage = new SeriesHistogram(
    'gen_ai_client_token_usage',
    'gen_ai.client.token.usage: tokens per call, by type (input, output)',
    [...LABELS, 'gen_ai_token_type'],
    [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
    this.registry,
  );
  readonly cost = new Counter({
    name: 'meshgate_llm_cost_total',
    help: 'What calls cost at their model\'s price (model-route Price), in currency units',
    labelNames: LABELS,
    registers: [this.registry],
  });
  readonly operationDuration = this.timing('gen_ai_client_operation_duration_seconds', 'gen_ai.client.operation.duration: the whole call, through the gateway', [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
  ]);
  readonly timeToFirstToken = this.timing('gen_ai_server_time_to_first_token_seconds', 'gen_ai.server.time_to_first_token: until the first chunk of a streamed answer', [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
  ]);
  readonly timePerOutputToken = this.timing('gen_ai_server_time_per_output_token_seconds', 'gen_ai.server.time_per_output_token: after the first token, per output token', [
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5,
  ]);

  /** A duration histogram with the call's labels (the buckets are OpenTelemetry's advice). */
  private timing(name: string, help: string, buckets: number[]): SeriesHistogram<(typeof LABELS)[number]> {
    return new SeriesHistogram(name, help, LABELS, buckets, this.registry);
  }

  constructor(bounds: { models?: number; tenants?: number; services?: number } = {}) {
    this.models = new BoundedValues(bounds.models ?? 200);
    this.tenants = new BoundedValues(bounds.tenants ?? 1_000);
    this.services = new BoundedValues(bounds.services ?? 200);
  }

  /** A tenant as a label value (bounded). */
  tenantLabel(tenant: string): string {
    return this.tenants.admit(tenant);
  }

  /** A model as a label value (bounded). */
  modelLabel(model: string): string {
    return this.models.admit(model);
  }

  record(c: CallFacts): void {
    // In LABELS' order.
    const values = [c.operation, this.models.admit(c.model), this.services.admit(c.service), this.tenants.admit(c.tenant), c.clientDialect, c.serviceDialect];
    this.operationDuration.observe(values, c.durationSeconds);
    if (c.costMicros) this.cost.inc(Object.fromEntries(LABELS.map((n, i) => [n, values[i]!])), c.costMicros / 1e6);
    if (c.usage) {
      this.tokenUsage.observe([...values, 'input'], c.usage.promptTokens);
      if (c.operation !== 'embeddings') this.tokenUsage.observe([...values, 'output'], c.usage.completionTokens);
    }
    if (c.timeToFirstTokenSeconds !== undefined) {
      this.timeToFirstToken.observe(values, c.timeToFirstTokenSeconds);
      const output = c.usage?.completionTokens ?? 0;
      // The first token's wait is its own metric: the rest of the answer over the rest of the tokens.
      if (output > 1) this.timePerOutputToken.observe(values, Math.max(0, c.durationSeconds - c.timeToFirstTokenSeconds) / (output - 1));
    }
  }
}
