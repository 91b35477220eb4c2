// What translation produces for one role: Envoy resources as proto3 JSON, per xDS type.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { XdsType } from '../xds-types.js';

export interface NamedResource {
  readonly name: string;
  readonly resource: JsonObject;
}

export type ResourceSet = { readonly [T in XdsType]: readonly NamedResource[] };

export interface Translation {
  readonly resources: ResourceSet;
  /** Things an operator should know about the translation (for example a path claimed twice). */
  readonly notes: readonly string[];
}

/** Config source for resources that arrive over the same ADS stream. */
export const ADS_SOURCE = { ads: {}, resource_api_version: 'V3' } as const;
