// The wire side of delta ADS: DeltaDiscoveryRequest decoding, and DeltaDiscoveryResponse bytes
// assembled from resources encoded once (EncodedResource.deltaField).
import protobuf from 'protobufjs';
import { messageType } from '../../shared/proto/root.js';
import { toJson } from '../../shared/proto/json.js';
import type { EncodedResource } from '../cache/encoded-resource.js';
import { controlPlaneField } from './discovery-codec.js';

export interface DeltaDiscoveryRequest {
  readonly node?: Record<string, unknown>;
  readonly type_url: string;
  readonly resource_names_subscribe: readonly string[];
  readonly resource_names_unsubscribe: readonly string[];
  readonly initial_resource_versions: Readonly<Record<string, string>>;
  readonly response_nonce: string;
  readonly error_detail?: { code?: number; message?: string };
}

const REQUEST = 'envoy.service.discovery.v3.DeltaDiscoveryRequest';

export function decodeDeltaDiscoveryRequest(bytes: Uint8Array): DeltaDiscoveryRequest {
  const type = messageType(REQUEST);
  const json = toJson(type, type.decode(bytes)) as Partial<DeltaDiscoveryRequest>;
  return {
    type_url: json.type_url ?? '',
    resource_names_subscribe: json.resource_names_subscribe ?? [],
    resource_names_unsubscribe: json.resource_names_unsubscribe ?? [],
    initial_resource_versions: json.initial_resource_versions ?? {},
    response_nonce: json.response_nonce ?? '',
    ...(json.node ? { node: json.node } : {}),
    ...(json.error_detail ? { error_detail: json.error_detail } : {}),
  };
}

export function encodeDeltaDiscoveryRequest(request: Partial<DeltaDiscoveryRequest>): Uint8Array {
  const type = messageType(REQUEST);
  return type.encode(type.fromObject(request as Record<string, unknown>)).finish();
}

/**
 * DeltaDiscoveryResponse{system_version_info=1, resources=2, type_url=4, nonce=5,
 * removed_resources=6, control_plane=7}.
 */
export function deltaResponseBytes(
  systemVersion: string,
  typeUrl: string,
  nonce: string,
  resources: Iterable<EncodedResource>,
  removed: Iterable<string>,
): Buffer {
  const head = protobuf.Writer.create().uint32((1 << 3) | 2).string(systemVersion).finish();
  const tail = protobuf.Writer.create().uint32((4 << 3) | 2).string(typeUrl).uint32((5 << 3) | 2).string(nonce);
  for (const name of removed) tail.uint32((6 << 3) | 2).string(name);
  const parts: Uint8Array[] = [head];
  for (const r of resources) parts.push(r.deltaField);
  parts.push(tail.finish(), controlPlaneField(7));
  return Buffer.concat(parts);
}
