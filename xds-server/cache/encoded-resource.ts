// A resource encoded once per version. Its bytes are shared by every stream that receives it:
// `sotwField` is the resource exactly as it sits inside a DiscoveryResponse (field 2, an Any),
// so a response is the concatenation of ready-made pieces.
import { createHash } from 'node:crypto';
import protobuf from 'protobufjs';
import { encodeMessage, type JsonObject } from '../../shared/proto/codec.js';
import { messageNameOf, TYPE_URLS, type XdsType } from '../xds-types.js';

export interface EncodedResource {
  readonly type: XdsType;
  readonly name: string;
  /** Content hash of the encoded message: the resource's version. */
  readonly version: string;
  /** The encoded message (Any.value). */
  readonly value: Uint8Array;
  /** google.protobuf.Any{type_url, value}. */
  readonly any: Uint8Array;
  /** DiscoveryResponse field 2 (resources): tag, length, Any. */
  readonly sotwField: Uint8Array;
  /** The proto3 JSON it was made from, for debug views and config dumps. */
  readonly json: JsonObject;
}

export function contentHash(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

export function encodeAny(typeUrl: string, value: Uint8Array): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2).string(typeUrl);
  w.uint32((2 << 3) | 2).bytes(value);
  return w.finish();
}

export function encodeResource(type: XdsType, name: string, json: JsonObject): EncodedResource {
  const value = encodeMessage(messageNameOf(type), json);
  const any = encodeAny(TYPE_URLS[type], value);
  const w = protobuf.Writer.create();
  w.uint32((2 << 3) | 2).bytes(any);
  return { type, name, version: contentHash(value), value, any, sotwField: w.finish(), json };
}
