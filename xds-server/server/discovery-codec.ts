// The wire side of ADS: DiscoveryRequest decoding, and DiscoveryResponse bytes assembled from
// resources that were encoded once (see cache/encoded-resource.ts) instead of re-encoding every
// resource for every stream.
import os from 'node:os';
import protobuf from 'protobufjs';
import { encodeMessage, type JsonObject } from '../../shared/proto/codec.js';
import type { EncodedResource } from '../cache/encoded-resource.js';
import { reader, readNode, readStatus } from './request-reader.js';

export interface DiscoveryRequest {
  readonly version_info: string;
  readonly node?: Record<string, unknown>;
  readonly resource_names: readonly string[];
  readonly type_url: string;
  readonly response_nonce: string;
  readonly error_detail?: { code?: number; message?: string };
}

const REQUEST = 'envoy.service.discovery.v3.DiscoveryRequest';

/** DiscoveryRequest{version_info=1, node=2, resource_names=3, type_url=4, response_nonce=5, error_detail=6}. */
export function decodeDiscoveryRequest(bytes: Uint8Array): DiscoveryRequest {
  const r = reader(bytes);
  let version_info = '';
  let type_url = '';
  let response_nonce = '';
  const resource_names: string[] = [];
  let node: Record<string, unknown> | undefined;
  let error_detail: DiscoveryRequest['error_detail'];
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1: version_info = r.string(); break;
      case 2: node = readNode(r.bytes()); break;
      case 3: resource_names.push(r.string()); break;
      case 4: type_url = r.string(); break;
      case 5: response_nonce = r.string(); break;
      case 6: error_detail = readStatus(r.bytes()); break;
      default: r.skipType(tag & 7);
    }
  }
  return { version_info, resource_names, type_url, response_nonce, ...(node ? { node } : {}), ...(error_detail ? { error_detail } : {}) };
}

/** For clients (tests, the fleet benchmark): proto3 JSON in, so node metadata may be a plain object. */
export function encodeDiscoveryRequest(request: Partial<DiscoveryRequest>): Uint8Array {
  return encodeMessage(REQUEST, request as JsonObject);
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
