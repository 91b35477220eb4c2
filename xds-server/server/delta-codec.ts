// The wire side of delta ADS: DeltaDiscoveryRequest decoding, and DeltaDiscoveryResponse bytes
// assembled from resources encoded once (EncodedResource.deltaField).
import protobuf from 'protobufjs';
import { encodeMessage, type JsonObject } from '../../shared/proto/codec.js';
import type { EncodedResource } from '../cache/encoded-resource.js';
import { controlPlaneField } from './discovery-codec.js';
import { reader, readNode, readStatus, readStringMapEntry } from './request-reader.js';

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

/**
 * DeltaDiscoveryRequest{node=1, type_url=2, resource_names_subscribe=3,
 * resource_names_unsubscribe=4, initial_resource_versions=5, response_nonce=6, error_detail=7}.
 */
export function decodeDeltaDiscoveryRequest(bytes: Uint8Array): DeltaDiscoveryRequest {
  const r = reader(bytes);
  let type_url = '';
  let response_nonce = '';
  const subscribe: string[] = [];
  const unsubscribe: string[] = [];
  const initial: Record<string, string> = {};
  let node: Record<string, unknown> | undefined;
  let error_detail: DeltaDiscoveryRequest['error_detail'];
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1: node = readNode(r.bytes()); break;
      case 2: type_url = r.string(); break;
      case 3: subscribe.push(r.string()); break;
      case 4: unsubscribe.push(r.string()); break;
      case 5: {
        const [k, v] = readStringMapEntry(r.bytes());
        initial[k] = v;
        break;
      }
      case 6: response_nonce = r.string(); break;
      case 7: error_detail = readStatus(r.bytes()); break;
      default: r.skipType(tag & 7);
    }
  }
  return {
    type_url,
    resource_names_subscribe: subscribe,
    resource_names_unsubscribe: unsubscribe,
    initial_resource_versions: initial,
    response_nonce,
    ...(node ? { node } : {}),
    ...(error_detail ? { error_detail } : {}),
  };
}

/** For clients (tests, the fleet benchmark): proto3 JSON in, so node metadata may be a plain object. */
export function encodeDeltaDiscoveryRequest(request: Partial<DeltaDiscoveryRequest>): Uint8Array {
  return encodeMessage(REQUEST, request as JsonObject);
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
