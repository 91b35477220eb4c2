// What the HTTP/2 server reports: its connections and held bytes as gauges, and clients that
// broke the protocol or passed a bound as a counter by kind and code plus a warning per
// connection ended (at most ten a second, so that an attacker who reconnects in a loop cannot
// flood the log).
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ConnectionError, errorName, type StreamError } from '../h2/errors.js';
import type { H2Server } from '../h2/server.js';
import type { GrpcServer } from './server.js';

/** The calls a gRPC server is working on and those it refused for its bound, both at scrape time. */
export function callGauges(grpc: GrpcServer, registry: Registry): void {
  new Gauge({
    name: 'meshgate_grpc_calls_in_flight',
    help: `Calls being worked on (at most ${grpc.h2.limits.maxCallsInFlight}; past it a call is refused at once)`,
    registers: [registry],
    collect() {
      this.set(grpc.callsInFlight);
    },
  });
  new Counter({
    name: 'meshgate_grpc_calls_refused_busy_total',
    help: 'Calls refused at once (RESOURCE_EXHAUSTED) because the bound of calls in flight was reached',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(grpc.callsRefusedBusy);
    },
  });
  h2Gauges(grpc.h2, registry);
}

export function h2Gauges(server: H2Server, registry: Registry): void {
  new Gauge({
    name: 'meshgate_h2_connections',
    help: `Open HTTP/2 connections (at most ${server.limits.maxConnections})`,
    registers: [registry],
    collect() {
      this.set(server.connectionCount);
    },
  });
  new Gauge({
    name: 'meshgate_h2_buffered_bytes',
    help: `Bytes of unfinished requests and waiting answers held over all connections (at most ${server.limits.maxBufferedBytes})`,
    registers: [registry],
    collect() {
      this.set(server.bufferedBytes);
    },
  });
}

export function peerErrorReporter(log: Logger, registry: Registry): (err: ConnectionError | StreamError) => void {
  const counter = new Counter({
    name: 'meshgate_h2_peer_errors_total',
    help: 'HTTP/2 clients that broke the protocol or passed a limit: connections ended (GOAWAY) and streams reset (RST_STREAM), by code',
    labelNames: ['kind', 'code'],
    registers: [registry],
  });
  let windowStart = 0;
  let logged = 0;
  return (err) => {
    const kind = err instanceof ConnectionError ? 'connection' : 'stream';
    counter.inc({ kind, code: errorName(err.code) });
    if (kind !== 'connection') return;
    const now = Date.now();
    if (now - windowStart >= 1_000) {
      windowStart = now;
      logged = 0;
    }
    if (++logged <= 10) log.warn({ reason: err.message }, 'HTTP/2 connection ended: the client broke the protocol or a limit');
  };
}
