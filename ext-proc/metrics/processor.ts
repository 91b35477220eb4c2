// The LLM processor's own Prometheus metrics beside the GenAI ones (genai.ts), in one registry:
// streams Envoy opened, streams ended without processing and why, calls by operation and
// outcome. Every label's values are fixed here (reasons, operations, HTTP status classes).
import { Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
import type { EndpointPicker, PickerStats } from '../picker/endpoint-picker.js';
import { GenAiMetrics } from './genai.js';

export class ProcessorMetrics extends GenAiMetrics {
  readonly streams = new Counter({ name: 'meshgate_llm_streams_total', help: 'ext_proc streams Envoy opened (one per HTTP call)', registers: [this.registry] });
  readonly refusedStreams = new Counter({
    name: 'meshgate_llm_refused_streams_total',
    help: 'ext_proc streams ended without processing, by reason (no_model_table, bad_message)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly calls = new Counter({
    name: 'meshgate_llm_calls_total',
    help: 'Model API calls finished, by operation and the status class the caller got',
    labelNames: ['gen_ai_operation_name', 'status_class'],
    registers: [this.registry],
  });
  readonly directCalls = new Counter({
    name: 'meshgate_llm_direct_calls_total',
    help: 'Model API calls Envoy routed by the body\'s model without the processor (read from the gateway\'s access log; counted in meshgate_llm_calls_total and the gen_ai metrics too)',
    registers: [this.registry],
  });
  readonly accessLogIgnored = new Counter({
    name: 'meshgate_llm_access_log_ignored_total',
    help: 'Entries of the gateway\'s access log the processor was sent that were no direct call (Envoy\'s filter should send none)',
    registers: [this.registry],
  });
  readonly refusedRequests = new Counter({
    name: 'meshgate_llm_refused_requests_total',
    help: 'Requests the gateway answered itself before any service, by OpenAI error code (model_not_found, request_too_large, invalid_request)',
    labelNames: ['code'],
    registers: [this.registry],
  });

  readonly requestLogDropped = new Counter({
    name: 'meshgate_llm_request_log_dropped_total',
    help: 'Request log lines dropped because the log was too far behind',
    registers: [this.registry],
  });

  readonly cacheLookups = new Counter({
    name: 'meshgate_llm_cache_lookups_total',
    help: 'Response cache lookups, by result (hit, miss)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly picks = new Counter({
    name: 'meshgate_llm_endpoint_picks_total',
    help: 'Calls of picked models, by what placed them: prefix (the instance holding its prefix), load (the least loaded), saturated (every instance was; the least loaded), preempt (a saturated pool whose servers preempt: an instance running a worse call), none (no fresh metrics: Envoy balanced it)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly queued = new Counter({
    name: 'meshgate_llm_queued_total',
    help: 'Calls that waited at the gateway for a saturated model pool, by priority and tenant',
    labelNames: ['priority', 'tenant'],
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: 'meshgate_llm_queue_wait_seconds',
    help: 'How long a call waited at the gateway for room in its model pool before it was placed, by priority',
    labelNames: ['priority'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32],
    registers: [this.registry],
  });
  readonly queueRefused = new Counter({
    name: 'meshgate_llm_queue_refused_total',
    help: 'Calls refused (429) because their model pool was saturated, by priority, tenant and why: sheddable (never queued), queue_full, pushed_out (by a critical call), waited_too_long',
    labelNames: ['priority', 'tenant', 'reason'],
    registers: [this.registry],
  });
  readonly pickerErrors = new Counter({ name: 'meshgate_llm_picker_xds_errors_total', help: "The picker's ADS stream to the xds-server failed (it reconnects; the last view is kept)", registers: [this.registry] });
  readonly cacheErrors = new Counter({ name: 'meshgate_llm_cache_errors_total', help: 'Response cache operations on Redis that failed (each a miss)', registers: [this.registry] });

  private waitingNow: () => ReturnType<EndpointPicker['waiting']> = () => [];

  constructor(bounds: ConstructorParameters<typeof GenAiMetrics>[0] = {}) {
    super(bounds);
    collectDefaultMetrics({ register: this.registry });
    const metrics = this;
    new Gauge({
      name: 'meshgate_llm_queue_length',
      help: 'Calls waiting at the gateway for a saturated model pool now, by model and priority',
      labelNames: ['gen_ai_request_model', 'priority'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const w of metrics.waitingNow()) this.inc({ gen_ai_request_model: metrics.modelLabel(w.model), priority: w.priority }, w.count);
      },
    });
  }

  /** What the endpoint picker reports, into these metrics; its queues' lengths read at each scrape. */
  pickerStats(picker: () => EndpointPicker | undefined): PickerStats {
    this.waitingNow = () => picker()?.waiting() ?? [];
    return {
      picks: (reason) => this.picks.inc({ reason }),
      queued: (c) => this.queued.inc({ priority: c.priority, tenant: this.tenantLabel(c.tenant) }),
      waited: (c, seconds) => this.queueWait.observe({ priority: c.priority }, seconds),
      refused: (c, why) => this.queueRefused.inc({ priority: c.priority, tenant: this.tenantLabel(c.tenant), reason: why }),
    };
  }
}
