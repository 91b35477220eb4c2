// envoyproxy/ratelimit's configuration format, validated. Every file that service loads loads
// here with the same meaning; meshgate adds one optional key, `rate_limit.algorithm`
// (fixed_window, the default, or sliding_window). Every error names the field.
//
// domain: <unique domain>
// descriptors:
//   - key: <required>
//     value: <optional; "prefix*" matches by prefix>
//     rate_limit:                     # optional
//       unit: second | minute | hour | day | month | year
//       requests_per_unit: <uint32>
//       unlimited: <bool>             # instead of unit and requests_per_unit
//       name: <optional>
//       replaces: [{name: …}]
//       algorithm: fixed_window | sliding_window
//     shadow_mode: <bool>
//     detailed_metric: <bool>
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
  readonly detailed_metric: boolean;
  readonly descriptors: readonly DescriptorSpec[];
}

export interface DomainSpec {
  readonly domain: string;
  readonly descriptors: readonly DescriptorSpec[];
}

const rateLimit = z
  .strictObject({
    unit: z.string().optional(),
    requests_per_unit: z.number().int().min(0).max(0xffff_ffff).default(0),
    unlimited: z.boolean().default(false),
    name: z.string().optional(),
    replaces: z.array(z.strictObject({ name: z.string() })).default([]),
    algorithm: z.enum(['fixed_window', 'sliding_window']).default('fixed_window'),
  })
  .superRefine((r, ctx) => {
    const validUnit = r.unit !== undefined && parseUnit(r.unit) !== undefined;
    if (r.unlimited && validUnit) ctx.addIssue({ code: 'custom', path: ['unit'], message: 'should not specify rate limit unit when unlimited' });
    if (!r.unlimited && !validUnit) {
      ctx.addIssue({ code: 'custom', path: ['unit'], message: `invalid rate limit unit '${r.unit ?? ''}' (second, minute, hour, day, month or year)` });
    }
    r.replaces.forEach((x, i) => {
      if (x.name === '') ctx.addIssue({ code: 'custom', path: ['replaces', i, 'name'], message: 'should not have an empty replaces entry' });
      else if (x.name === r.name) ctx.addIssue({ code: 'custom', path: ['replaces', i, 'name'], message: 'replaces should not contain name of same descriptor' });
    });
  });

const descriptor: z.ZodType<DescriptorSpec> = z.lazy(() =>
  z.strictObject({
    key: z.string().min(1, 'descriptor has empty key'),
    value: z.string().optional(),
    rate_limit: rateLimit.optional(),
    shadow_mode: z.boolean().default(false),
    detailed_metric: z.boolean().default(false),
    descriptors: descriptorList,
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

const domainSchema = z.strictObject({
  domain: z.string().min(1, 'config file cannot have empty domain'),
  descriptors: descriptorList,
});


export function parseRateLimitConfig(text: string): Checked<DomainSpec> {
  let raw: unknown;
  try {
    raw = YAML.parse(text, { maxAliasCount: 100 });
  } catch (err) {
    return refused('', `error loading config file: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = domainSchema.safeParse(raw);
  return r.success ? valid(r.data as DomainSpec) : refused('', describeIssues(r.error));
}
