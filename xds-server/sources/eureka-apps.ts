// Eureka's REST answers (`GET /eureka/apps`, `GET /eureka/apps/delta`, JSON), read the way
// Netflix's own DiscoveryClient reads them: a full fetch is the registry; a delta's instances are
// ADDED, MODIFIED or DELETED in it; then the registry's reconcile hash (instances counted by
// status, "DOWN_1_UP_3_") must equal the delta's `apps__hashcode`, else the caller fetches in
// full. Pure functions: eureka-source.ts does the HTTP.
import { z } from 'zod';
import { describeIssues } from '../../shared/validate/zod.js';
import { describeRefusal, refused, valid, within, type Checked } from '../../shared/validate/result.js';
import type { Instance } from '../model/mesh.js';
import { meshServiceName, registryInstance } from './registry-instance.js';
import type { RegistryLimits } from './registry-limits.js';

/** One element or a list: Eureka's JSON codecs have written both for a single item. */
const oneOrMany = <T extends z.ZodTypeAny>(t: T) => z.union([z.array(t), t]).transform((v) => (Array.isArray(v) ? v : [v]) as z.infer<T>[]);

const portField = z.object({ $: z.union([z.number(), z.string()]), '@enabled': z.union([z.string(), z.boolean()]).optional() }).passthrough();

const eurekaInstance = z
  .object({
    instanceId: z.string().optional(),
    hostName: z.string(),
    app: z.string(),
    ipAddr: z.string(),
    status: z.string(),
    overriddenStatus: z.string().optional(),
    overriddenstatus: z.string().optional(),
    port: portField.optional(),
    securePort: portField.optional(),
    // Values are strings; Eureka writes {"@class": "java.util.Collections$EmptyMap"} for none.
    metadata: z.record(z.string(), z.unknown()).nullable().optional(),
    actionType: z.string().optional(),
  })
  .passthrough();

export type EurekaInstance = z.infer<typeof eurekaInstance>;

const answer = z.object({
  applications: z.object({
    versions__delta: z.union([z.string(), z.number()]).optional(),
    apps__hashcode: z.string().optional(),
    application: oneOrMany(z.object({ name: z.string(), instance: oneOrMany(eurekaInstance).optional() }).passthrough()).optional(),
  }),
});

export interface EurekaAnswer {
  readonly hashcode: string;
  readonly instances: readonly EurekaInstance[];
}

/** A fetch's body, or why it cannot be read. */
export function parseEurekaAnswer(body: string): Checked<EurekaAnswer> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    return refused('(answer)', `not JSON: ${(err as Error).message}`);
  }
  const parsed = answer.safeParse(json);
  if (!parsed.success) return refused('(answer)', describeIssues(parsed.error));
  const apps = parsed.data.applications;
  return valid({ hashcode: apps.apps__hashcode ?? '', instances: (apps.application ?? []).flatMap((a) => a.instance ?? []) });
}

/** The registry's key of an instance: its app and instance id (a host name for clients that send none). */
export function instanceKey(i: EurekaInstance): string {
  return `${i.app.toUpperCase()}/${i.instanceId ?? i.hostName}`;
}

/** The registry as a full fetch gives it. */
export function registryOf(full: EurekaAnswer): Map<string, EurekaInstance> {
  return new Map(full.instances.map((i) => [instanceKey(i), i]));
}

/**
 * The registry after a delta (a new map), whether its hash agrees with the server's, and whether
 * anything meshgate reads changed. A server's delta holds every change of the last minutes, each
 * instance as it is now, so most polls repeat changes already applied; only the lease's
 * timestamps (renewed by every heartbeat) differ then, and those are not read.
 */
export function applyDelta(registry: ReadonlyMap<string, EurekaInstance>, delta: EurekaAnswer): { registry: Map<string, EurekaInstance>; consistent: boolean; changed: boolean } {
  const next = new Map(registry);
  let changed = false;
  for (const i of delta.instances) {
    const key = instanceKey(i);
    if (i.actionType === 'DELETED') changed = next.delete(key) || changed;
    else {
      // ADDED, MODIFIED
      const had = next.get(key);
      if (!had || readPart(had) !== readPart(i)) changed = true;
      next.set(key, i);
    }
  }
  return { registry: next, consistent: reconcileHash(next.values()) === delta.hashcode, changed };
}

/** What of an instance meshgate reads: all of it but the lease and the delta's action. */
function readPart(i: EurekaInstance): string {
  const { leaseInfo: _lease, actionType: _action, lastUpdatedTimestamp: _updated, ...rest } = i as EurekaInstance & { leaseInfo?: unknown; lastUpdatedTimestamp?: unknown };
  return JSON.stringify(rest);
}

/** Eureka's reconcile hash: "STATUS_count_" for each status, in status-name order. */
export function reconcileHash(instances: Iterable<EurekaInstance>): string {
  const counts = new Map<string, number>();
  for (const i of instances) counts.set(i.status, (counts.get(i.status) ?? 0) + 1);
  return [...counts.keys()]
    .sort()
    .map((s) => `${s}_${counts.get(s)}_`)
    .join('');
}

const enabled = (p: z.infer<typeof portField> | undefined): boolean => p !== undefined && String(p['@enabled'] ?? 'true') === 'true';

/** Only UP is healthy: STARTING, DOWN, OUT_OF_SERVICE and UNKNOWN are not, and an override other than UP wins. */
export function isUp(i: EurekaInstance): boolean {
  const override = (i.overriddenStatus ?? i.overriddenstatus ?? 'UNKNOWN').toUpperCase();
  return i.status.toUpperCase() === 'UP' && (override === 'UNKNOWN' || override === 'UP');
}

/** One Eureka instance as meshgate's Instance, or why not. */
export function eurekaInstanceOf(i: EurekaInstance): Checked<Instance> {
  const field = instanceKey(i);
  if (!enabled(i.port)) {
    return refused(field, enabled(i.securePort) ? 'only its securePort is enabled: TLS to instances is not configured from Eureka' : 'no enabled port');
  }
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(i.metadata ?? {})) if (k !== '@class' && typeof v === 'string') meta[k] = v;
  return within(
    field,
    registryInstance({
      registry: 'eureka',
      id: i.instanceId ?? i.hostName,
      node: i.hostName,
      address: i.ipAddr,
      port: Number(i.port!.$),
      healthy: isUp(i),
      meta,
    }),
  );
}

export interface EurekaService {
  readonly instances: readonly Instance[];
  readonly refusals: readonly string[];
}

/** The registry by meshgate service name, within the limits; what cannot be a service is refused under `(apps)`. */
export function servicesOf(registry: ReadonlyMap<string, EurekaInstance>, limits: RegistryLimits): { services: Map<string, EurekaService>; refusals: string[] } {
  const byApp = new Map<string, EurekaInstance[]>();
  for (const i of registry.values()) {
    const app = i.app.toUpperCase();
    const list = byApp.get(app);
    if (list) list.push(i);
    else byApp.set(app, [i]);
  }
  const services = new Map<string, EurekaService>();
  const refusals: string[] = [];
  for (const app of [...byApp.keys()].sort()) {
    const name = meshServiceName(app);
    if (name === undefined) {
      refusals.push(`${app}: not a service name once lower-cased (letters, digits, "-", at most 63)`);
      continue;
    }
    if (services.size >= limits.maxServices) {
      refusals.push(`${byApp.size - services.size} apps past the limit of ${limits.maxServices} are not read`);
      break;
    }
    const all = byApp.get(app)!;
    const instances: Instance[] = [];
    const refused: string[] = [];
    for (const i of all.slice(0, limits.maxInstancesPerService)) {
      const r = eurekaInstanceOf(i);
      if (r.ok) instances.push(r.value);
      else refused.push(describeRefusal(r));
    }
    if (all.length > limits.maxInstancesPerService) refused.push(`${all.length} instances, past the limit of ${limits.maxInstancesPerService}; the rest are not read`);
    services.set(name, { instances, refusals: refused });
  }
  return { services, refusals };
}
