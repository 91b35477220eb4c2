// What a demo instance can do with its registration in a registry other than Consul.
export interface Registration {
  setHealthy(healthy: boolean): Promise<void>;
  /** Metadata keys set (a value '' removes the key). */
  setMeta(changes: Readonly<Record<string, string>>): Promise<void>;
  deregister(): Promise<void>;
}
