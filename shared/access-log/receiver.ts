// Envoy's gRPC access-log service (envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs,
// one long client stream per Envoy logger) on a shared HTTP/2 server, with that server's bounds
// (streams, message size, memory): each message's HTTP entries handed on, with the log's name
// (said in a stream's first message).
import { GrpcStatus } from '../grpc/wire.js';
import type { GrpcServer } from '../grpc/server.js';
import { loadEnvoyProtos, messageType } from '../proto/root.js';
import type { RawEntry } from './entry.js';

export const ACCESS_LOG_SERVICE = 'envoy.service.accesslog.v3.AccessLogService';

interface RawMessage {
  identifier?: { log_name?: string };
  http_logs?: { log_entry?: RawEntry[] };
}

export function serveAccessLogs(server: GrpcServer, onEntry: (entry: RawEntry, logName: string) => void): void {
  loadEnvoyProtos(['envoy/service/accesslog/v3/als.proto']);
  const type = messageType('envoy.service.accesslog.v3.StreamAccessLogsMessage');
  server.bidi(`/${ACCESS_LOG_SERVICE}/StreamAccessLogs`, (call) => {
    let logName = '';
    return {
      onMessage: (bytes) => {
        let m: RawMessage;
        try {
          m = type.decode(bytes) as never;
        } catch (err) {
          call.end(GrpcStatus.INVALID_ARGUMENT, `an unreadable StreamAccessLogsMessage: ${(err as Error).message}`);
          return;
        }
        logName ||= m.identifier?.log_name ?? '';
        for (const e of m.http_logs?.log_entry ?? []) onEntry(e, logName);
      },
      // A client stream ends with one (empty) StreamAccessLogsResponse.
      onEnd: () => {
        call.send(new Uint8Array(0));
        call.end();
      },
      onCancel: () => undefined,
    };
  });
}
