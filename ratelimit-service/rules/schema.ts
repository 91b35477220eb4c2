// envoyproxy/ratelimit's configuration format, validated. Every file that service loads loads
// here with the same meaning, read as it reads it: YAML 1.1 as gopkg.in/yaml.v2 decodes it into
// its structs — `yes`/`on` are true, `010` is 8, merge keys (`<<: *base`) merge, a repeated key
// takes the last value, only the first document counts, an empty field is absent, a key the
// format knows but in another place is ignored (an unknown key is refused), and a field that
// is a string takes a scalar's text as written (`value: 0755` is "0755", `key: 42` is "42").
// meshgate adds one optional key, `rate_limit.algorithm` (fixed_window, the default, or
// sliding_window). Every error names the field.
//
// domain: <unique domain>
// descriptors:
//   - key: <required>
//     value: <optional; "prefix*" matches by prefix>
//     rate_limit:                     # optional
//       unit: second | minute | hour | day | week | month | year
//       requests_per_unit: <uint32>
//       unlimited: <bool>             # instead of unit and requests_per_unit
//       name: <optional>
//       replaces: [{name: …}]
//       algorithm: fixed_window | sliding_window
//     shadow_mode: <bool>
//     quota_mode: <bool>              # over the limit answers OK with the limit
//     detailed_metric: <bool>
//     value_to_metric: <bool>
//     share_threshold: <bool>         # a wildcard's values share one counter
//     descriptors: [ … nested … ]
import YAML from 'yaml';
import { z } from 'zod';
import { refused, valid, type Checked } from '../../shared/validate/result.js';
import { describeIssues } from '../../shared/validate/zod.js';
import { parseUnit } from '../limiter/units.js';

export interface RateLimitSpec {
  readonly unit?: string;
  readonly requests_per_unit: number;
  readonly unlimited: boolean;
  readonly name?: string;
  readonly replaces: ReadonlyArray<{ name: string }>;
  readonly algorithm: 'fixed_window' | 'sliding_window';
}

export interface DescriptorSpec {
  readonly key: string;
  readonly value?: string;
  readonly rate_limit?: RateLimitSpec;
  readonly shadow_mode: boolean;
  readonly quota_mode: boolean;
  readonly detailed_metric: boolean;
  readonly value_to_metric: boolean;
  readonly share_threshold: boolean;
  readonly descriptors: readonly DescriptorSpec[];
}

export interface DomainSpec {
  readonly domain: string;
  readonly descriptors: readonly DescriptorSpec[];
}

const rateLimit = z
  .object({
    unit: z.string().optional(),
    requests_per_unit: z.number().int().min(0).max(0xffff_ffff).default(0),
    unlimited: z.boolean().default(false),
    name: z.string().optional(),
    replaces: z.array(z.object({ name: z.string().default('') })).default([]),
    algorithm: z.enum(['fixed_window', 'sliding_window']).default('fixed_window'),
  })
  .superRefine((r, ctx) => {
    const validUnit = r.unit !== undefined && parseUnit(r.unit) !== undefined;
    if (r.unlimited && validUnit) ctx.addIssue({ code: 'custom', path: ['unit'], message: 'should not specify rate limit unit when unlimited' });
    if (!r.unlimited && !validUnit) {
      ctx.addIssue({ code: 'custom', path: ['unit'], message: `invalid rate limit unit '${r.unit ?? ''}' (second, minute, hour, day, week, month or year)` });
    }
    r.replaces.forEach((x, i) => {
      if (x.name === '') ctx.addIssue({ code: 'custom', path: ['replaces', i, 'name'], message: 'should not have an empty replaces entry' });
      else if (x.name === r.name) ctx.addIssue({ code: 'custom', path: ['replaces', i, 'name'], message: 'replaces should not contain name of same descriptor' });
    });
  });

const descriptor: z.ZodType<DescriptorSpec> = z.lazy(() =>
  z
    .object({
      key: z.string().min(1, 'descriptor has empty key'),
      value: z.string().optional(),
      rate_limit: rateLimit.optional(),
      shadow_mode: z.boolean().default(false),
      quota_mode: z.boolean().default(false),
      detailed_metric: z.boolean().default(false),
      value_to_metric: z.boolean().default(false),
      share_threshold: z.boolean().default(false),
      descriptors: descriptorList,
    })
    .superRefine((d, ctx) => {
      const finalKey = d.value ? `${d.key}_${d.value}` : d.key;
      if (d.share_threshold && !finalKey.endsWith('*')) {
        ctx.addIssue({ code: 'custom', path: ['share_threshold'], message: `share_threshold can only be used with wildcard values (ending with '*'), but found key '${finalKey}'` });
      }
    }),
) as z.ZodType<DescriptorSpec>;

const descriptorList = z
  .array(descriptor)
  .default([])
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((d, i) => {
      const composite = d.value ? `${d.key}_${d.value}` : d.key;
      if (seen.has(composite)) ctx.addIssue({ code: 'custom', path: [i], message: `duplicate descriptor composite key '${composite}'` });
      seen.add(composite);
    });
  });

const domainSchema = z.object({
  domain: z.string().min(1, 'config file cannot have empty domain'),
  descriptors: descriptorList,
});


/** Every key the format has (anywhere); the reference refuses any other. */
const KNOWN_KEYS = new Set([
  'domain', 'key', 'value', 'descriptors', 'rate_limit', 'unit', 'requests_per_unit', 'unlimited', 'shadow_mode', 'quota_mode', 'name', 'replaces',
  'detailed_metric', 'value_to_metric', 'share_threshold', 'algorithm',
]);

/** Fields the reference decodes into a Go string: a scalar there is its text as written. */
const STRING_FIELDS = new Set(['domain', 'key', 'value', 'unit', 'name', 'algorithm']);

/**
 * The document as yaml.v2 would hand it to the reference's structs: values from YAML 1.1 (`typed`),
 * string fields from the same document read with every scalar a string (`text`), null (an
 * empty field) as absent. Throws on an unknown key or a value of the wrong kind.
 */
function asReferenceReads(typed: unknown, text: unknown, at: string): unknown {
  if (Array.isArray(typed)) return typed.map((v, i) => asReferenceReads(v, (text as unknown[])[i], `${at}[${i}]`));
  if (typed === null || typeof typed !== 'object') return typed;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(typed as Record<string, unknown>)) {
    if (!KNOWN_KEYS.has(k)) throw new Error(`config error, unknown key '${k}'`);
    if (v === null || v === undefined) continue;
    const raw = (text as Record<string, unknown>)[k];
    if (STRING_FIELDS.has(k) && typeof v !== 'object') out[k] = String(raw);
    else out[k] = asReferenceReads(v, raw, at ? `${at}.${k}` : k);
  }
  return out;
}

export function parseRateLimitConfig(text: string): Checked<DomainSpec> {
  let raw: unknown;
  try {
    const options = { version: '1.1', merge: true, uniqueKeys: false, maxAliasCount: 100 } as const;
    const [typed] = YAML.parseAllDocuments(text, options) as YAML.Document.Parsed[];
    const [asText] = YAML.parseAllDocuments(text, { ...options, schema: 'failsafe' }) as YAML.Document.Parsed[];
    if (typed?.errors.length) throw typed.errors[0];
    raw = asReferenceReads(typed?.toJS({ maxAliasCount: 100 }) ?? {}, asText?.toJS({ maxAliasCount: 100 }) ?? {}, '');
  } catch (err) {
    return refused('', `error loading config file: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = domainSchema.safeParse(raw);
  return r.success ? valid(r.data as DomainSpec) : refused('', describeIssues(r.error));
}
