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
 * Encodings by the JSON object they were made from: translation hands every role the same
 * object for the same cluster or endpoints (translate/memo.ts), so a thousand roles share one
 * encoding. Weak: an encoding lives as long as its JSON does.
 */
const byJson = new WeakMap<object, EncodedResource>();

/**
 * Encode a translation. A resource reuses an encoding made from the same JSON object (another
 * role's), or from equal JSON in `previous`; so a change to one service re-encodes one cluster
 * once, not once per role, and not the mesh.
 */
export function buildSnapshot(key: string, translation: Translation, previous?: Snapshot): Snapshot {
  const types = {} as Record<XdsType, TypeSnapshot>;
  for (const type of PUSH_ORDER) {
    const before = previous?.types[type].resources;
    const encoded = translation.resources[type].map((r) => {
      const shared = byJson.get(r.resource);
      if (shared && shared.name === r.name && shared.type === type) return shared;
      const old = before?.get(r.name);
      const result = old && sameJson(old.json, r.resource) ? old : encodeResource(type, r.name, r.resource);
      byJson.set(r.resource, result);
      return result;
    });
    const prior = previous?.types[type];
    // Nothing changed in this type: keep the previous TypeSnapshot itself (no re-hash, and
    // streams comparing snapshots see at once that there is nothing to send).
    types[type] = prior && sameResources(prior, encoded) ? prior : typeSnapshot(type, encoded);
  }
  return { key, types, notes: translation.notes, builtAt: new Date() };
}

function sameResources(prior: TypeSnapshot, encoded: readonly EncodedResource[]): boolean {
  if (prior.resources.size !== encoded.length) return false;
  for (const r of encoded) if (prior.resources.get(r.name) !== r) return false;
  return true;
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
