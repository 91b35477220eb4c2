// Golden translation cases as data, as Envoy Gateway keeps them: test/golden/cases/<case>/
// holds input.yaml (the mesh as the sources would report it — services with their Consul meta
// and instances, config entries as an operator writes them — and the role translated), and the
// outputs in two steps: resolved.yaml (mesh → resolved, as /debug/resolved shows it) and one
// file per xDS type (resolved → xDS). The local-reply config every HTTP listener carries is golden-tested
// once (test/golden/local-reply.yaml); listener outputs name it instead of repeating it.
//
// `UPDATE_GOLDEN=1 npm run test:unit` rewrites the outputs (refused where CI is set: CI checks
// goldens, it never writes them); review the diff before committing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import YAML from 'yaml';
import { repoRoot } from '../../launcher/repo.js';
import { DEFAULT_IDENTITY_HEADERS } from '../../shared/identity-headers.js';
import { isPort } from '../../shared/host-port.js';
import { describeRefusal } from '../../shared/validate/result.js';
import { entriesOf } from '../../xds-server/model/config-entries/entry-store.js';
import { entryId, parseConfigEntries, type ConfigEntry } from '../../xds-server/model/config-entries/schema.js';
import { NO_ENTRIES, SecretValue, SIDECAR_PORT_META, type HealthStatus, type Instance, type LoginProvider, type MeshState, type Service, type ServiceDescriptor } from '../../xds-server/model/mesh.js';
import { filesOfSet } from '../../shared/proto/file-descriptors.js';
import { serviceDescriptor } from '../../xds-server/transcoding/service-descriptor.js';
import { DEFAULT_SETTINGS_DEFAULTS, serviceSettings } from '../../xds-server/model/service-settings.js';
import { resolvedView } from '../../xds-server/admin/resolved-view.js';
import type { GatewaySettings } from '../../xds-server/resolve/gateway-settings.js';
import { MeshResolver } from '../../xds-server/resolve/mesh-resolver.js';
import type { ResolvedMesh } from '../../xds-server/resolve/resolved-mesh.js';
import type { TranslationCache } from '../../xds-server/translate/cache.js';
import { translateGateway } from '../../xds-server/translate/gateway.js';
import { jsonLocalReplies } from '../../xds-server/translate/local-reply.js';
import { translateProxyless } from '../../xds-server/translate/proxyless.js';
import type { Translation } from '../../xds-server/translate/resource-set.js';
import { translateSidecar, type SidecarRole } from '../../xds-server/translate/sidecar.js';
import { withStatsEndpoint, type StatsEndpoint } from '../../xds-server/translate/stats-endpoint.js';
import { PUSH_ORDER, type XdsType } from '../../xds-server/xds-types.js';

const CASES_DIR = path.join(repoRoot(), 'test', 'golden', 'cases');
export const LOCAL_REPLY_GOLDEN = path.join(repoRoot(), 'test', 'golden', 'local-reply.yaml');
/** Stands in a listener output for the shared local-reply config. */
export const LOCAL_REPLY_MARK = 'see test/golden/local-reply.yaml';

interface InstanceInput {
  id: string;
  node?: string;
  address?: string;
  port?: number;
  health?: HealthStatus;
  zone?: string;
  weight?: number;
  tags?: string[];
  meta?: Record<string, string>;
}

interface CaseInput {
  role: 'gateway' | 'sidecar' | 'proxyless';
  /** Another file in the cases folder whose services (and sidecar) this case starts from. */
  base?: string;
  services?: Array<{ name: string; meta?: Record<string, string>; instances: InstanceInput[] }>;
  /** Config entries, YAML documents separated by "---". */
  entries?: string;
  gateway?: Partial<GatewaySettings>;
  sidecar?: Omit<SidecarRole, 'kind'>;
  /** The proxy's Prometheus endpoint (node metadata stats_port …), added as the controller adds it. */
  stats?: StatsEndpoint;
  /** Transcoded services' descriptor sets: a FileDescriptorSet file (from the repository's root) per service. */
  descriptors?: Record<string, string>;
  /** The secrets directory's files, by name. */
  secrets?: Record<string, string>;
  /** OpenID providers as their discovery documents said. */
  loginProviders?: LoginProvider[];
}

export interface GoldenCase {
  readonly name: string;
  readonly role: CaseInput['role'];
  readonly state: MeshState;
  readonly gateway: GatewaySettings;
  /** The sidecar a sidecar case translates (and the entry mesh's client sidecar). */
  readonly sidecar: SidecarRole | undefined;
  /** Step one: the mesh resolved (by `resolver`, or a fresh one). */
  resolve(resolver?: MeshResolver): ResolvedMesh;
  /** Step two: the resolved mesh translated for the case's role (with `cache`, or a fresh one). */
  translate(resolved?: ResolvedMesh, cache?: TranslationCache): Translation;
}

/** The gateway listener every gateway case has. */
const GATEWAY_ADDRESS = { address: '0.0.0.0', port: 8080 } as const;

/**
 * Objects of equal content made one object: states built through it share their unchanged
 * services and entries, as the mesh store and entry store share them from one state to the next.
 */
export class Interner {
  private readonly seen = new Map<string, unknown>();
  of<T>(value: T): T {
    const key = JSON.stringify(value);
    const hit = this.seen.get(key);
    if (hit !== undefined) return hit as T;
    this.seen.set(key, value);
    return value;
  }
}

export function caseNames(): string[] {
  return fs
    .readdirSync(CASES_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

function instanceOf(i: InstanceInput, serviceMeta: Record<string, string>): Instance {
  const meta = { ...serviceMeta, ...(i.meta ?? {}) };
  const sidecarPort = Number(meta[SIDECAR_PORT_META]);
  return {
    id: i.id,
    node: i.node ?? 'node-1',
    address: i.address ?? '10.0.0.1',
    port: i.port ?? 8000,
    health: i.health ?? 'HEALTHY',
    zone: i.zone ?? '',
    weight: i.weight ?? 1,
    tags: [...(i.tags ?? [])].sort(),
    meta,
    ...(isPort(sidecarPort) ? { sidecarPort } : {}),
    registry: 'consul',
  };
}

/** The mesh of a case, through the model's own validation of meta and entries. */
function stateOf(input: CaseInput, intern: Interner | undefined): MeshState {
  const one = <T>(v: T): T => (intern ? intern.of(v) : v);
  const services = new Map<string, Service>();
  for (const s of [...(input.services ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const settings = serviceSettings(s.name, s.meta ?? {}, DEFAULT_SETTINGS_DEFAULTS);
    assert.ok(settings.ok, `service ${s.name}: ${settings.ok ? '' : describeRefusal(settings)}`);
    const instances = s.instances.map((i) => instanceOf(i, s.meta ?? {})).sort((a, b) => (a.id < b.id ? -1 : 1));
    services.set(s.name, one({ name: s.name, settings: settings.value, instances }));
  }
  const items = new Map<string, ConfigEntry>();
  if (input.entries) {
    const parsed = parseConfigEntries(input.entries, true);
    assert.ok(parsed.ok, parsed.ok ? '' : describeRefusal(parsed));
    for (const e of parsed.value) items.set(entryId(e), one(e));
  }
  const descriptors = new Map<string, ServiceDescriptor>();
  for (const [service, file] of Object.entries(input.descriptors ?? {})) {
    const files = filesOfSet(fs.readFileSync(path.join(repoRoot(), file)));
    const d = serviceDescriptor(files, undefined, { service, source: `file ${file}`, loadedAt: '2026-01-01T00:00:00.000Z' });
    assert.ok(d.ok, `descriptor of ${service}: ${d.ok ? '' : describeRefusal(d)}`);
    descriptors.set(service, one(d.value));
  }
  const secrets = new Map(Object.entries(input.secrets ?? {}).map(([name, value]) => [name, new SecretValue(name, value)]));
  const loginProviders = new Map((input.loginProviders ?? []).map((p) => [p.issuer, one(p)]));
  return { revision: 1, services, entries: items.size ? entriesOf(items) : NO_ENTRIES, descriptors, secrets, loginProviders, problems: [] };
}

/**
 * A case; `overrides` replace parts of its input (other entries, say) for tests built on it.
 * `intern`: build its state through this interner (cases that share objects, as successive states do).
 */
export function loadCase(name: string, overrides: Partial<Pick<CaseInput, 'entries' | 'gateway'>> = {}, intern?: Interner): GoldenCase {
  const own = YAML.parse(fs.readFileSync(path.join(CASES_DIR, name, 'input.yaml'), 'utf8')) as CaseInput;
  const base = own.base ? (YAML.parse(fs.readFileSync(path.join(CASES_DIR, own.base), 'utf8')) as Partial<CaseInput>) : {};
  const input: CaseInput = { ...base, ...own, ...overrides };
  const state = stateOf(input, intern);
  const gateway: GatewaySettings = { identityHeaders: Object.values(DEFAULT_IDENTITY_HEADERS), ...input.gateway };
  const sidecar: SidecarRole | undefined = input.sidecar ? { kind: 'sidecar', ...input.sidecar } : undefined;
  // Every view, and the case's sidecar's even when its service is not in the catalog.
  const resolve = (resolver: MeshResolver = new MeshResolver(gateway)): ResolvedMesh =>
    resolver.resolve(state, { gateway: true, proxyless: true, sidecars: [...state.services.keys(), ...(sidecar ? [sidecar.service] : [])] });
  return {
    name,
    role: input.role,
    state,
    gateway,
    sidecar,
    resolve,
    translate(resolved = resolve(), cache) {
      switch (input.role) {
        case 'gateway':
          return withStatsEndpoint(translateGateway(resolved.gateway!, GATEWAY_ADDRESS, cache), input.stats);
        case 'sidecar':
          assert.ok(sidecar, `${name}: a sidecar case names its sidecar`);
          return withStatsEndpoint(translateSidecar(resolved.sidecars.get(sidecar.service)!, sidecar, cache), input.stats);
        case 'proxyless':
          return translateProxyless(resolved.proxyless!, cache);
      }
    },
  };
}

/** Replace the shared local-reply config, where a listener carries it unchanged, by its mark. */
function markLocalReplies(value: unknown, shared: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => markLocalReplies(v, shared));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, k === 'local_reply_config' && isDeepStrictEqual(v, shared) ? LOCAL_REPLY_MARK : markLocalReplies(v, shared)]),
  );
}

/** Put the shared local-reply config back where a golden output names it. */
export function withLocalReplies(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withLocalReplies);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'local_reply_config' && v === LOCAL_REPLY_MARK ? jsonLocalReplies() : withLocalReplies(v)]));
}

function outputPath(name: string, file: string): string {
  return path.join(CASES_DIR, name, `${file}.yaml`);
}

/** A case's golden resources of one type, as Envoy would receive them. */
export function readCaseOutput(name: string, type: XdsType): Array<Record<string, unknown>> {
  const file = outputPath(name, type);
  return fs.existsSync(file) ? (withLocalReplies(YAML.parse(fs.readFileSync(file, 'utf8')) ?? []) as Array<Record<string, unknown>>) : [];
}

function writeOrCompare(file: string, actual: unknown): void {
  const text = YAML.stringify(actual, { lineWidth: 0, aliasDuplicateObjects: false });
  if (process.env['UPDATE_GOLDEN']) {
    assert.ok(!process.env['CI'], 'UPDATE_GOLDEN is refused where CI is set: goldens are checked there, not written');
    fs.writeFileSync(file, text);
    return;
  }
  assert.ok(fs.existsSync(file), `golden file ${path.relative(repoRoot(), file)} is missing: run with UPDATE_GOLDEN=1 and review it`);
  assert.deepEqual(actual, YAML.parse(fs.readFileSync(file, 'utf8')) ?? [], `differs from ${path.relative(repoRoot(), file)}`);
}

/** Step one: compare (or with UPDATE_GOLDEN, write) the case's resolved mesh, as /debug/resolved shows it. */
export function assertResolvedGolden(name: string, resolved: ResolvedMesh): void {
  writeOrCompare(outputPath(name, 'resolved'), JSON.parse(JSON.stringify(resolvedView(resolved))));
}

/** Step two: compare (or with UPDATE_GOLDEN, write) every output of a case: one file per xDS type, and its notes. */
export function assertCaseGolden(name: string, t: Translation): void {
  const shared = jsonLocalReplies();
  for (const type of PUSH_ORDER) {
    const file = outputPath(name, type);
    const resources = t.resources[type].map((r) => markLocalReplies(r.resource, shared));
    if (!resources.length && !fs.existsSync(file)) continue;
    writeOrCompare(file, resources);
  }
  const notes = outputPath(name, 'notes');
  if (t.notes.length || fs.existsSync(notes)) writeOrCompare(notes, [...t.notes]);
}

export function assertLocalReplyGolden(): void {
  writeOrCompare(LOCAL_REPLY_GOLDEN, jsonLocalReplies());
}
