// A versioned, encoded set of resources for one role: what every proxy of that role should have.
import type { Translation } from '../translate/resource-set.js';
import { PUSH_ORDER, type XdsType } from '../xds-types.js';
import { contentHash, encodeResource, type EncodedResource } from './encoded-resource.js';

export interface TypeSnapshot {
  readonly type: XdsType;
  /** Hash over the names and versions of all resources: equal content, equal version. */
  readonly version: string;
  /** Sorted by name. */
  readonly resources: ReadonlyMap<string, EncodedResource>;
}

export interface Snapshot {
  readonly key: string;
  readonly types: { readonly [T in XdsType]: TypeSnapshot };
  readonly notes: readonly string[];
  readonly builtAt: Date;
}

function typeSnapshot(type: XdsType, resources: EncodedResource[]): TypeSnapshot {
  resources.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const map = new Map<string, EncodedResource>();
  for (const r of resources) {
    if (map.has(r.name)) throw new Error(`two ${type} resources named ${r.name}`);
    map.set(r.name, r);
  }
  const version = contentHash(resources.map((r) => `${r.name}\u0000${r.version}`).join('\u0001'));
  return { type, version, resources: map };
}

/**
 * Encode a translation. Resources whose JSON is unchanged since `previous` reuse its encoding,
 * so a change to one service re-encodes one cluster, not the mesh.
 */
export function buildSnapshot(key: string, translation: Translation, previous?: Snapshot): Snapshot {
  const types = {} as Record<XdsType, TypeSnapshot>;
  for (const type of PUSH_ORDER) {
    const before = previous?.types[type].resources;
    const encoded = translation.resources[type].map((r) => {
      const old = before?.get(r.name);
      if (old && sameJson(old.json, r.resource)) return old;
      return encodeResource(type, r.name, r.resource);
    });
    types[type] = typeSnapshot(type, encoded);
  }
  return { key, types, notes: translation.notes, builtAt: new Date() };
}

export function sameVersions(a: Snapshot | undefined, b: Snapshot): boolean {
  return !!a && PUSH_ORDER.every((t) => a.types[t].version === b.types[t].version);
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}
