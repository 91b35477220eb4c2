// The gateway's one HTTP listener: the edge, with its routes over RDS.
import type { JsonObject } from '../../shared/proto/codec.js';
import { directCallsLog } from './direct-calls.js';
import { httpListener } from './http-listener.js';

export const GATEWAY_LISTENER = 'gateway_http';
export const GATEWAY_ROUTES = 'gateway_routes';

export interface ListenerAddress {
  readonly address: string;
  readonly port: number;
}

/** `processor`: the LLM processor's cluster, which counts the direct model calls from their access log. */
export function gatewayListener(at: ListenerAddress, httpFilters: JsonObject[], accessLogService?: string, processor?: string): JsonObject {
  return httpListener({
    name: GATEWAY_LISTENER,
    ...at,
    statPrefix: 'gateway',
    routes: { rds: GATEWAY_ROUTES },
    httpFilters,
    edge: true,
    ...(accessLogService ? { accessLogService } : {}),
    ...(processor ? { moreAccessLogs: [directCallsLog(processor)] } : {}),
  });
}
