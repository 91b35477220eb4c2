// The console's gRPC access-log server: every HTTP entry of the gateway's access log goes into
// the recent-requests window.
import type { Logger } from 'pino';
import { ACCESS_LOG_SERVICE, serveAccessLogs } from '../../shared/access-log/receiver.js';
import { GrpcServer } from '../../shared/grpc/server.js';
import type { H2Limits } from '../../shared/h2/limits.js';
import type { RecentRequests } from './recent-requests.js';
import { requestRecord } from './request-record.js';

export function accessLogServer(recent: RecentRequests, log: Logger, limits?: H2Limits): GrpcServer {
  const server = new GrpcServer({ services: [ACCESS_LOG_SERVICE], onError: (err) => log.warn({ err }, 'access-log stream failed'), ...(limits ? { limits } : {}) });
  serveAccessLogs(server, (e) => recent.add(requestRecord(e)));
  server.setServing(true);
  return server;
}
