// The LLM processor's metrics under OpenTelemetry's GenAI names, and their bounded labels.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { GenAiMetrics, OTHER } from '../../ext-proc/metrics/genai.js';
import { SeriesHistogram } from '../../ext-proc/metrics/series-histogram.js';

const usage = { promptTokens: 12, completionTokens: 21, totalTokens: 33 };

describe('GenAI metrics', () => {
  it('records tokens by type, duration, time to first token and per output token', async () => {
    const m = new GenAiMetrics();
    m.record({ operation: 'chat', model: 'llama-3.1-8b', service: 'llm-a', tenant: 'acme', usage, durationSeconds: 2.1, timeToFirstTokenSeconds: 0.1, clientDialect: 'anthropic', serviceDialect: 'openai' });
    m.record({ operation: 'embeddings', model: 'embed-small', service: 'embed', tenant: 'acme', usage: { promptTokens: 5, completionTokens: 0, totalTokens: 5 }, durationSeconds: 0.05, clientDialect: 'openai', serviceDialect: 'openai' });
    const text = await m.registry.metrics();
    const base = 'gen_ai_operation_name="chat",gen_ai_request_model="llama-3.1-8b",service="llm-a",tenant="acme",client_dialect="anthropic",service_dialect="openai"';
    assert.match(text, new RegExp(`^gen_ai_client_token_usage_sum\\{${base},gen_ai_token_type="input"\\} 12$`, 'm'));
    assert.match(text, new RegExp(`^gen_ai_client_token_usage_sum\\{${base},gen_ai_token_type="output"\\} 21$`, 'm'));
    assert.match(text, new RegExp(`^gen_ai_client_operation_duration_seconds_sum\\{${base}\\} 2.1$`, 'm'));
    assert.match(text, new RegExp(`^gen_ai_server_time_to_first_token_seconds_sum\\{${base}\\} 0.1$`, 'm'));
    assert.match(text, new RegExp(`^gen_ai_server_time_per_output_token_seconds_sum\\{${base}\\} 0.1$`, 'm'), '(2.1 - 0.1) s over 20 more tokens');
    assert.doesNotMatch(text, /gen_ai_request_model="embed-small",service="embed",tenant="acme",client_dialect="openai",service_dialect="openai",gen_ai_token_type="output"/, 'embeddings have no output tokens');
  });

  it('bounds each label: values past the bound are counted as one', async () => {
    const m = new GenAiMetrics({ tenants: 2 });
    for (const tenant of ['t1', 't2', 't3', 't4']) m.record({ operation: 'chat', model: 'm', service: 's', tenant, usage, durationSeconds: 1, clientDialect: 'openai', serviceDialect: 'openai' });
    const text = await m.registry.metrics();
    const tenants = new Set([...text.matchAll(/tenant="([^"]+)"/g)].map((x) => x[1]));
    assert.deepEqual([...tenants].sort(), [OTHER, 't1', 't2']);
    assert.match(text, new RegExp(`^gen_ai_client_operation_duration_seconds_count\\{[^}]*tenant="${OTHER}"[^}]*\\} 2$`, 'm'));
  });

  it('a series histogram is exposed line for line as prom-client exposes its own, as text and as JSON', async () => {
    const labelNames = ['operation', 'model'] as const;
    const buckets = [0.01, 0.1, 1, 10];
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({ name: 'h_seconds', help: 'a help "text" with\\ escapes', labelNames, buckets, registers: [theirs] });
    const mine = new SeriesHistogram('h_seconds', 'a help "text" with\\ escapes', labelNames, buckets, ours);
    // On a bound, between bounds, past the last, negative, and series with quotes in their values.
    const observations: Array<[string, string, number]> = [['chat', 'llama', 0.01], ['chat', 'llama', 0.5], ['chat', 'llama', 99], ['embed', 'm "x"', -1], ['chat', 'qwen', 0.000001], ['embed', 'm "x"', 10]];
    for (const [operation, model, v] of observations) {
      reference.observe({ operation, model }, v);
      mine.observe([operation, model], v);
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
    assert.throws(() => mine.observe(['chat', 'llama'], Number.NaN), /not a valid number/);
    mine.reset();
    reference.reset();
    assert.equal(await ours.metrics(), await theirs.metrics());
  });
});
