// The bounds every registry source keeps, whatever the registry answers: a registry is input
// like any other, and a runaway one (a leak of registrations, a huge metadata map) must not
// take the control plane's memory or stall every proxy's config.
export interface RegistryLimits {
  /** Services read from one registry; the rest are refused (and named in its problems). */
  readonly maxServices: number;
  /** Instances read per service. */
  readonly maxInstancesPerService: number;
  /** Bytes of one registry entry (a ZooKeeper node's data). */
  readonly maxEntryBytes: number;
  /** Bytes of one answer of a polled registry (a Eureka fetch). */
  readonly maxFetchBytes: number;
}

export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = Object.freeze({
  maxServices: 10_000,
  maxInstancesPerService: 5_000,
  maxEntryBytes: 64 * 1024,
  maxFetchBytes: 64 * 1024 * 1024,
});
