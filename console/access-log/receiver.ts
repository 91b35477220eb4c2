// Envoy's gRPC access-log service (envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs,
// one long client stream per Envoy) on the shared HTTP/2 server, with its bounds (streams,
// message size, memory): each message's HTTP entries go into the recent-requests window.
import type { Logger } from 'pino';
import { GrpcServer } from '../../shared/grpc/server.js';
import type { H2Limits } from '../../shared/h2/limits.js';
import { loadEnvoyProtos, messageType } from '../../shared/proto/root.js';
import type { RecentRequests } from './recent-requests.js';
import { requestRecord, type RawEntry } from './request-record.js';

const SERVICE = 'envoy.service.accesslog.v3.AccessLogService';

export function accessLogServer(recent: RecentRequests, log: Logger, limits?: H2Limits): GrpcServer {
  loadEnvoyProtos(['envoy/service/accesslog/v3/als.proto']);
  const type = messageType('envoy.service.accesslog.v3.StreamAccessLogsMessage');
  const server = new GrpcServer({ services: [SERVICE], onError: (err) => log.warn({ err }, 'access-log stream failed'), ...(limits ? { limits } : {}) });
  server.bidi(`/${SERVICE}/StreamAccessLogs`, (call) => ({
    onMessage: (bytes) => {
      let m: { http_logs?: { log_entry?: RawEntry[] } };
      try {
        m = type.decode(bytes) as never;
      } catch (err) {
        call.end(3, `an unreadable StreamAccessLogsMessage: ${(err as Error).message}`);
        return;
      }
      for (const e of m.http_logs?.log_entry ?? []) recent.add(requestRecord(e));
    },
    // A client stream ends with one (empty) StreamAccessLogsResponse.
    onEnd: () => {
      call.send(new Uint8Array(0));
      call.end();
    },
    onCancel: () => undefined,
  }));
  server.setServing(true);
  return server;
}
