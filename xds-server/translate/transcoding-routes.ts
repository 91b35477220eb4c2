// The gateway routes of transcoded gRPC services: one route per service, matching every path it
// answers (its gRPC paths and its annotations' REST paths: the descriptor's one regex), so that
// its descriptor set goes to Envoy once, in that route's transcoder settings. These routes come
// before every gateway path: they match exact paths only. Which service answers a gRPC service
// two of them serve was decided in resolve/.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { TranscodedService } from '../resolve/resolved-mesh.js';
import { gatewayRouteExtras } from './http-filters.js';
import { envoyRoute } from './http-route.js';
import { transcodedRouteFilters } from './transcoding-filters.js';

export function transcodingRoutes(transcoded: readonly TranscodedService[]): JsonObject[] {
  return transcoded.map((t) =>
    envoyRoute(
      `${t.service}/transcoded`,
      t.route,
      { safe_regex: { regex: t.descriptor.pathRegex } },
      gatewayRouteExtras(t, () => transcodedRouteFilters(t.descriptor, t.transcoding, t.maxRequestBytes)),
    ),
  );
}
