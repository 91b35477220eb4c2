// Reading discovery requests field by field: a fleet ACKs every response, so the server decodes
// thousands of requests per change, and only the first of a stream carries the node (decoded
// through the full proto3 JSON path, since its metadata is a Struct).
import protobuf from 'protobufjs';
import { toJson } from '../../shared/proto/json.js';
import { messageType } from '../../shared/proto/root.js';

export type Reader = protobuf.Reader;

export function reader(bytes: Uint8Array): Reader {
  return protobuf.Reader.create(bytes);
}

/** google.rpc.Status{code=1, message=2}: what a NACK says. */
export function readStatus(bytes: Uint8Array): { code?: number; message?: string } {
  const r = reader(bytes);
  const out: { code?: number; message?: string } = {};
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) out.code = r.int32();
    else if (tag >>> 3 === 2) out.message = r.string();
    else r.skipType(tag & 7);
  }
  return out;
}

export function readNode(bytes: Uint8Array): Record<string, unknown> {
  const type = messageType('envoy.config.core.v3.Node');
  return toJson(type, type.decode(bytes)) as Record<string, unknown>;
}

/** A map<string, string> entry {key=1, value=2}. */
export function readStringMapEntry(bytes: Uint8Array): [string, string] {
  const r = reader(bytes);
  let key = '';
  let value = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) key = r.string();
    else if (tag >>> 3 === 2) value = r.string();
    else r.skipType(tag & 7);
  }
  return [key, value];
}
