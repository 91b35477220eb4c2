// The wire side of ADS: DiscoveryRequest decoding, and DiscoveryResponse bytes assembled from
// resources that were encoded once (see cache/encoded-resource.ts) instead of re-encoding every
// resource for every stream.
import os from 'node:os';
import protobuf from 'protobufjs';
import { messageType } from '../../shared/proto/root.js';
import { toJson } from '../../shared/proto/json.js';
import type { EncodedResource } from '../cache/encoded-resource.js';

export interface DiscoveryRequest {
  readonly version_info: string;
  readonly node?: Record<string, unknown>;
  readonly resource_names: readonly string[];
  readonly type_url: string;
  readonly response_nonce: string;
  readonly error_detail?: { code?: number; message?: string };
}

const REQUEST = 'envoy.service.discovery.v3.DiscoveryRequest';

export function decodeDiscoveryRequest(bytes: Uint8Array): DiscoveryRequest {
  const type = messageType(REQUEST);
  const json = toJson(type, type.decode(bytes)) as Partial<DiscoveryRequest>;
  return {
    version_info: json.version_info ?? '',
    resource_names: json.resource_names ?? [],
    type_url: json.type_url ?? '',
    response_nonce: json.response_nonce ?? '',
    ...(json.node ? { node: json.node } : {}),
    ...(json.error_detail ? { error_detail: json.error_detail } : {}),
  };
}

export function encodeDiscoveryRequest(request: Partial<DiscoveryRequest>): Uint8Array {
  const type = messageType(REQUEST);
  return type.encode(type.fromObject(request as Record<string, unknown>)).finish();
}

/** Identifies this control plane to Envoy (shown in its logs and config dump). */
export const CONTROL_PLANE_ID = `meshgate-xds-server@${os.hostname()}`;

const controlPlaneFields = new Map<number, Uint8Array>();
/** ControlPlane{identifier} as field `field` of a response (6 in SotW, 7 in delta). */
export function controlPlaneField(field: number): Uint8Array {
  let bytes = controlPlaneFields.get(field);
  if (!bytes) {
    const inner = protobuf.Writer.create().uint32((1 << 3) | 2).string(CONTROL_PLANE_ID).finish();
    bytes = protobuf.Writer.create().uint32((field << 3) | 2).bytes(inner).finish();
    controlPlaneFields.set(field, bytes);
  }
  return bytes;
}

/**
 * DiscoveryResponse{version_info=1, resources=2, type_url=4, nonce=5, control_plane=6}.
 * Protobuf allows fields in any order; Envoy and grpc-js parse this like any other encoding.
 */
export function sotwResponseBytes(version: string, typeUrl: string, nonce: string, resources: Iterable<EncodedResource>): Buffer {
  const head = protobuf.Writer.create().uint32((1 << 3) | 2).string(version).finish();
  const tail = protobuf.Writer.create()
    .uint32((4 << 3) | 2).string(typeUrl)
    .uint32((5 << 3) | 2).string(nonce)
    .finish();
  const parts: Uint8Array[] = [head];
  for (const r of resources) parts.push(r.sotwField);
  parts.push(tail, controlPlaneField(6));
  return Buffer.concat(parts);
}
