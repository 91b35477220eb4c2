// The LLM processor's gRPC side: envoy.service.ext_proc.v3.ExternalProcessor/Process, one
// bidirectional stream per HTTP call, each of Envoy's messages answered in order as it comes
// (the work is synchronous, so a stream holds nothing but its Exchange); the gateway's access log
// of the calls it routed without the processor (envoy.service.accesslog.v3), counted as the
// processed ones are; and grpc.health.v1.
import type { Logger } from 'pino';
import { callGauges, peerErrorReporter } from '../../shared/grpc/h2-metrics.js';
import type { BidiCall, BidiHandler } from '../../shared/grpc/bidi-call.js';
import { ACCESS_LOG_SERVICE, serveAccessLogs } from '../../shared/access-log/receiver.js';
import { GrpcServer } from '../../shared/grpc/server.js';
import { GrpcStatus } from '../../shared/grpc/wire.js';
import type { H2Limits } from '../../shared/h2/limits.js';
import type { CallRecord } from '../engine/call-record.js';
import { directCallRecord } from '../engine/direct-call.js';
import { Exchange, type ExchangeSettings } from '../engine/exchange.js';
import { DIRECT_LOG_NAME, MAX_MESSAGE_TIMEOUT_SECONDS, MODEL_TABLE_HEADER, UPSTREAM_STREAM_HEADER, UPSTREAM_STREAM_VALUE } from '../../shared/llm-gateway.js';
import { UpstreamAttempt } from '../engine/upstream-attempt.js';
import { ModelTables, type ModelTable } from '../engine/model-table.js';
import type { RequestLogRecord } from '../log/request-log.js';
import type { ProcessorMetrics } from '../metrics/processor.js';
import { decodePhase, encodeWaitLonger, EXTERNAL_PROCESSOR_SERVICE, type Phase } from './codec.js';

export interface ProcessorServerDeps {
  readonly settings: ExchangeSettings;
  readonly metrics: ProcessorMetrics;
  readonly log: Logger;
  readonly limits: H2Limits;
  readonly onCall: (record: CallRecord) => void;
  readonly onLog: (record: RequestLogRecord) => void;
  /** A model table seen for the first time. */
  readonly onTable?: (table: ModelTable) => void;
}

/** The longest the gateway's filter lets the processor extend a wait (the xds-server's max_message_timeout). */
const MAX_MESSAGE_TIMEOUT_MS = MAX_MESSAGE_TIMEOUT_SECONDS * 1000;

/**
 * Model tables kept parsed: the gateway sends one for its entry routes and one for each model's
 * door (that model alone), so a catalog of that many models is read once; past it the oldest goes.
 */
const MODEL_TABLES_KEPT = 4_096;

/** Messages a stream may send while an earlier one's answer is still being worked out. */
const MAX_WAITING = 8;

export class ProcessorServer {
  readonly grpc: GrpcServer;
  private readonly tables: ModelTables;
  /** A call that waits for room in its pool tells Envoy to wait for the answer that long, and a little more. */
  private readonly waitLonger: Buffer;
  /** ext_proc streams open now (HTTP calls in flight through the processor). */
  openStreams = 0;

  constructor(private readonly deps: ProcessorServerDeps) {
    this.tables = new ModelTables(MODEL_TABLES_KEPT, (t) => deps.onTable?.(t));
    this.waitLonger = encodeWaitLonger(Math.min(MAX_MESSAGE_TIMEOUT_MS, (deps.settings.queueMaxWaitMs ?? 0) + 1_000));
    this.grpc = new GrpcServer({
      services: [EXTERNAL_PROCESSOR_SERVICE, ACCESS_LOG_SERVICE],
      onError: (err) => deps.log.error({ err }, 'Process failed'),
      onPeerError: peerErrorReporter(deps.log, deps.metrics.registry),
      limits: deps.limits,
    });
    callGauges(this.grpc, deps.metrics.registry);
    this.grpc.bidi(`/${EXTERNAL_PROCESSOR_SERVICE}/Process`, (call, stream) => {
      const { metrics, settings } = this.deps;
      metrics.streams.inc();
      // An attempt on a model's cluster: nothing kept between streams, no table needed.
      if (stream.header(UPSTREAM_STREAM_HEADER) === UPSTREAM_STREAM_VALUE) return this.serve(call, new UpstreamAttempt(), () => undefined);
      const table = this.tables.get(stream.header(MODEL_TABLE_HEADER));

      if (!table) {
        // Never a guess: a call without the gateway's model table is not routed at all.
        metrics.refusedStreams.inc({ reason: 'no_model_table' });
        call.end(GrpcStatus.INVALID_ARGUMENT, `no readable ${MODEL_TABLE_HEADER} metadata: the gateway's ext_proc filter must send the model table`);
        return { onMessage: () => undefined, onEnd: () => undefined, onCancel: () => undefined };
      }
      this.openStreams += 1;
      let open = true;
      const closed = (): void => {
        if (open) this.openStreams -= 1;
        open = false;
      };
      const waitLonger = (): void => call.send(this.waitLonger);
      return this.serve(call, new Exchange(table, settings, (record) => this.deps.onCall(record), (code) => metrics.refusedRequests.inc({ code }), deps.onLog, waitLonger), closed);
    });
    // The calls Envoy routed without the processor, from the gateway's access log of them.
    serveAccessLogs(this.grpc, (entry, logName) => {
      const record = logName === DIRECT_LOG_NAME ? directCallRecord(entry) : undefined;
      if (!record) return deps.metrics.accessLogIgnored.inc();
      deps.metrics.directCalls.inc();
      deps.onCall(record);
    });
  }

  /**
   * One stream's messages, each answered in order as it comes; while an answer waits (the cache
   * on Redis), later messages wait behind it, at most MAX_WAITING. A message that cannot be
   * handled ends the stream.
   */
  private serve(call: BidiCall, handler: { handle(p: Phase): Buffer | Promise<Buffer>; end?(): void; abandon?(): void }, closed: () => void): BidiHandler {
    const { metrics, log } = this.deps;
    let waiting: Buffer[] | undefined;
    const fail = (err: Error): void => {
      log.warn({ err }, 'an ext_proc message could not be handled; ending the stream');
      // What the call holds (its place on an instance, its place in a pool's queue) is let go: the stream ends here.
      handler.abandon?.();
      metrics.refusedStreams.inc({ reason: 'bad_message' });
      closed();
      call.end(GrpcStatus.INVALID_ARGUMENT, err.message);
    };
    const run = (message: Buffer): void => {
      let answer: Buffer | Promise<Buffer>;
      try {
        answer = handler.handle(decodePhase(message));
      } catch (err) {
        return fail(err as Error);
      }
      if (!(answer instanceof Promise)) return call.send(answer);
      waiting = [];
      answer.then(
        (bytes) => {
          call.send(bytes);
          const later = waiting!;
          waiting = undefined;
          for (const m of later) {
            // run() may start another wait: the rest queue behind it.
            const again = waiting as Buffer[] | undefined;
            if (again) again.push(m);
            else run(m);
          }
        },
        (err: Error) => fail(err),
      );
    };
    return {
      onMessage: (message) => {
        if (!waiting) return run(message);
        // Envoy waits for each answer; a peer that does not is bounded.
        if (waiting.length >= MAX_WAITING) return fail(new Error(`more than ${MAX_WAITING} messages sent ahead of their answers`));
        waiting.push(message);
      },
      onEnd: () => {
        handler.end?.();
        closed();
        call.end();
      },
      onCancel: () => {
        handler.abandon?.();
        closed();
      },
    };
  }

  /** The model tables seen, for /status. */
  tableSummaries(): Array<{ models: number; aliases: number }> {
    return this.tables.summaries();
  }
}
