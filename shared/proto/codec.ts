// Encode and decode Envoy messages written as proto3 JSON (see json.ts).
import { messageType } from './root.js';
import { fromJson, toJson } from './json.js';

export type JsonObject = { [key: string]: unknown };

/** Encode proto3 JSON of the named message type; unknown fields or types throw. */
export function encodeMessage(fullName: string, json: JsonObject): Uint8Array {
  const type = messageType(fullName);
  return type.encode(type.fromObject(fromJson(type, json))).finish();
}

/** Decode bytes of the named message type into proto3 JSON. */
export function decodeMessage(fullName: string, bytes: Uint8Array): JsonObject {
  const type = messageType(fullName);
  return toJson(type, type.decode(bytes));
}
