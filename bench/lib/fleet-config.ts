// What bench/fleet.ts tells each fleet worker, and the service names both use.
export interface WorkerConfig {
  readonly xds: string;
  readonly api: 'sotw' | 'delta';
  /** Client indices [from, to). Client i is instance ⌊i / services⌋ of service i mod services. */
  readonly from: number;
  readonly to: number;
  readonly services: number;
  /** Sidecars (of service i mod services) or edge gateways (every service). */
  readonly role: 'sidecar' | 'gateway';
  /** Report every response of these types that carries these resources. */
  readonly watch: ReadonlyArray<{ readonly type: 'cluster' | 'endpoint'; readonly name: string }>;
}

export function serviceName(i: number): string {
  return `svc-${String(i).padStart(4, '0')}`;
}
