// The small vocabulary every dialect's reader checks a request body with: a field's type or a
// clear InvalidRequestError naming the field (its path as the dialect's docs write it).
import { InvalidRequestError } from './neutral.js';

export type Json = Record<string, unknown>;

export const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

export function objectAt(x: unknown, path: string): Json {
  if (!isObject(x)) throw new InvalidRequestError(`${path}: must be an object`, path);
  return x;
}

export function arrayAt(x: unknown, path: string): unknown[] {
  if (!Array.isArray(x)) throw new InvalidRequestError(`${path}: must be an array`, path);
  return x;
}

export function stringAt(x: unknown, path: string): string {
  if (typeof x !== 'string') throw new InvalidRequestError(`${path}: must be a string`, path);
  return x;
}

export function optionalString(x: unknown, path: string): string | undefined {
  return x === undefined || x === null ? undefined : stringAt(x, path);
}

export function optionalNumber(x: unknown, path: string, min = -Infinity, max = Infinity): number | undefined {
  if (x === undefined || x === null) return undefined;
  if (typeof x !== 'number' || !Number.isFinite(x) || x < min || x > max) throw new InvalidRequestError(`${path}: must be a number${Number.isFinite(min) ? ` from ${min}` : ''}${Number.isFinite(max) ? ` to ${max}` : ''}`, path);
  return x;
}

export function optionalInteger(x: unknown, path: string, min = 0): number | undefined {
  const n = optionalNumber(x, path, min);
  if (n !== undefined && !Number.isSafeInteger(n)) throw new InvalidRequestError(`${path}: must be an integer`, path);
  return n;
}

export function optionalBoolean(x: unknown, path: string): boolean | undefined {
  if (x === undefined || x === null) return undefined;
  if (typeof x !== 'boolean') throw new InvalidRequestError(`${path}: must be true or false`, path);
  return x;
}

/** Arguments as JSON text, parsed to the object a dialect with structured input wants. */
export function argumentsObject(text: string, path: string): Json {
  let parsed: unknown;
  try {
    parsed = text.trim() ? JSON.parse(text) : {};
  } catch {
    throw new InvalidRequestError(`${path}: the tool call's arguments are not JSON`, path);
  }
  if (!isObject(parsed)) throw new InvalidRequestError(`${path}: the tool call's arguments must be a JSON object`, path);
  return parsed;
}

/** A `data:` URL's media type and base64 payload, or undefined for any other URL. */
export function dataUrl(url: string): { mediaType: string; data: string } | undefined {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return m ? { mediaType: m[1]!, data: m[2]! } : undefined;
}
