// A resource encoded once per version. Its bytes are shared by every stream that receives it:
// `sotwField` is the resource exactly as it sits inside a DiscoveryResponse (field 2, an Any),
// and `deltaField` exactly as it sits inside a DeltaDiscoveryResponse (field 2, a Resource), so
// a response is the concatenation of ready-made pieces.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import protobuf from 'protobufjs';
import { encodeMessage, type JsonObject } from '../../shared/proto/codec.js';
import { messageNameOf, TYPE_URLS, type XdsType } from '../xds-types.js';

export interface EncodedResource {
  readonly type: XdsType;
  readonly name: string;
  /** Content hash of the encoded message: the resource's version. */
  readonly version: string;
  /** google.protobuf.Any{type_url, value}: a view into sotwField, not a copy. */
  readonly any: Uint8Array;
  /** DiscoveryResponse field 2 (resources): tag, length, Any. */
  readonly sotwField: Uint8Array;
  /** DeltaDiscoveryResponse field 2 (resources): tag, length, Resource{version, resource, name}. */
  readonly deltaField: Uint8Array;
  /** The proto3 JSON it was made from, for debug views and config dumps. */
  readonly json: JsonObject;
}

export function contentHash(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

function lengthDelimited(field: number, build: (w: protobuf.Writer) => void): Uint8Array {
  const inner = protobuf.Writer.create();
  build(inner);
  return protobuf.Writer.create().uint32((field << 3) | 2).bytes(inner.finish()).finish();
}

class Encoded implements EncodedResource {
  private delta: Uint8Array | undefined;

  constructor(
    readonly type: XdsType,
    readonly name: string,
    readonly version: string,
    readonly sotwField: Uint8Array,
    readonly any: Uint8Array,
    readonly json: JsonObject,
  ) {}

  // Made on first use: a fleet on state of the world never pays for the delta encoding.
  get deltaField(): Uint8Array {
    this.delta ??= lengthDelimited(2, (w) => {
      w.uint32((1 << 3) | 2).string(this.version);
      w.uint32((2 << 3) | 2).bytes(this.any);
      w.uint32((3 << 3) | 2).string(this.name);
    });
    return this.delta;
  }
}

/**
 * A secret's version is keyed by this process's own random key: a plain hash of a short client
 * secret, shown in every debug view, could be searched offline. (Another replica's versions
 * differ, so an Envoy that moves takes the same secret once more: harmless.)
 */
const SECRET_VERSION_KEY = randomBytes(32);

/** What debug views and config dumps show of a secret: its name, never its value. */
function redacted(name: string): JsonObject {
  return { name, generic_secret: { secret: { inline_string: '[redacted]' } } };
}

export function encodeResource(type: XdsType, name: string, json: JsonObject): EncodedResource {
  const value = encodeMessage(messageNameOf(type), json);
  const any = protobuf.Writer.create().uint32((1 << 3) | 2).string(TYPE_URLS[type]).uint32((2 << 3) | 2).bytes(value).finish();
  const sotwField = protobuf.Writer.create().uint32((2 << 3) | 2).bytes(any).finish();
  const secret = type === 'secret';
  const version = secret ? createHmac('sha256', SECRET_VERSION_KEY).update(value).digest('hex').slice(0, 16) : contentHash(value);
  // Keep one copy of the bytes: the Any is the tail of the field.
  return new Encoded(type, name, version, sotwField, sotwField.subarray(sotwField.length - any.length), secret ? redacted(name) : json);
}
