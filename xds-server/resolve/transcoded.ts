// Transcoded gRPC services: which services want descriptors (transcoding on, protocol grpc — or
// on with another protocol, refused with the reason), and which are served at the gateway — a
// descriptor in force, a gateway path, and each gRPC service answered by one service only
// (claims.ts: the first by name).
import { isHealthy, type RateLimitDescriptor, type ServiceDescriptor, type WantedDescriptor, type WantedDescriptors } from '../model/mesh.js';
import type { ChainRoute } from './chain.js';
import type { MeshReader } from './mesh-reader.js';
import type { AdmissionPolicy, TranscodingPolicy } from './policy-types.js';
import { servicePolicy } from './service-policy.js';

/** The descriptor source's list: every service with transcoding on and protocol grpc; the others with transcoding on, refused with the reason. */
export function descriptorsWanted(m: MeshReader, infrastructure: ReadonlySet<string>): WantedDescriptors {
  const wanted: WantedDescriptor[] = [];
  const refused: Array<{ service: string; reason: string }> = [];
  for (const service of m.services().values()) {
    if (infrastructure.has(service.name)) continue;
    const policy = servicePolicy(m, service.name);
    if (!policy.transcoding.enabled) continue;
    if (policy.protocol !== 'grpc') {
      refused.push({ service: service.name, reason: `transcoding is on, but the service's protocol is ${policy.protocol} (from ${policy.decidedBy.protocol}): set protocol grpc` });
      continue;
    }
    const healthy = service.instances.filter(isHealthy);
    wanted.push({
      service: service.name,
      instances: healthy.map((i) => ({ id: i.id, address: i.address, port: i.port })),
      key: JSON.stringify(healthy.map((i) => [i.id, i.address, i.port, i.tags, i.meta])),
    });
  }
  return { wanted, refused };
}

/** A transcoded service as the gateway serves it. */
export interface TranscodedService {
  readonly service: string;
  readonly descriptor: ServiceDescriptor;
  readonly transcoding: TranscodingPolicy;
  /** Its chain's default route (every method goes where the service's other calls go). */
  readonly route: ChainRoute;
  /** Its first gateway path's ext-authz policy and rate limits, for all of its methods. */
  readonly authPolicy: string | undefined;
  readonly rateLimits: readonly RateLimitDescriptor[];
  /** The gate before those checks, as on that path. */
  readonly admission?: AdmissionPolicy;
  /** The largest JSON body the transcoder takes: the route's limit, else gRPC's own message limit. */
  readonly maxRequestBytes: number;
}
