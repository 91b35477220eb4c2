// The models the gateway routes, as the xds-server sends them on every ext_proc stream (gRPC
// initial metadata `x-meshgate-model-table`, written once per config change): the catalog's
// model names and the aliases, each to weighted models. Parsed once per distinct table, so a
// stream costs one map lookup.
import { z } from 'zod';
import { DIALECTS, type Dialect } from '../../shared/llm-gateway.js';
import type { Price } from './budget.js';

const tableSchema = z.strictObject({
  models: z.array(z.string()),
  aliases: z.record(z.string(), z.array(z.tuple([z.string(), z.number().int().positive()])).min(1)).default({}),
  logged: z.array(z.string()).default([]),
  picked: z.array(z.string()).default([]),
  prioritized: z.array(z.string()).default([]),
  prices: z.record(z.string(), z.tuple([z.number().nonnegative(), z.number().nonnegative()])).default({}),
  budgets: z.strictObject({ defaultMaxTokens: z.number().int().nonnegative() }).optional(),
  dialects: z.record(z.string(), z.enum(DIALECTS)).default({}),
  mixed: z.record(z.string(), z.record(z.string(), z.enum(DIALECTS))).default({}),
});

export interface ModelTable {
  /** Models and aliases: what a request's `model` may name. */
  readonly names: ReadonlySet<string>;
  /** The model a request for `name` goes to: itself, or one of an alias's by weight. */
  resolve(name: string, random?: number): string;
  readonly aliasCount: number;
  /** Services whose calls are logged; empty: none (nothing is kept for the log). */
  readonly logged: ReadonlySet<string>;
  /** Models whose calls the endpoint picker places. */
  readonly picked: ReadonlySet<string>;
  /** Picked models whose servers schedule by a `priority` in the body, preempting. */
  readonly prioritized: ReadonlySet<string>;
  /** Each priced model's [input, output] per million tokens. */
  readonly prices: ReadonlyMap<string, Price>;
  /** Budgets in force: calls reserve and settle (what a call without max_tokens may generate). */
  readonly budgets: { readonly defaultMaxTokens: number } | undefined;
  /** The dialect of each model whose services all speak one other than OpenAI's. */
  readonly dialects: ReadonlyMap<string, Dialect>;
  /** Each service's dialect, for models whose services speak different ones (each attempt is written upstream). */
  readonly mixed: ReadonlyMap<string, ReadonlyMap<string, Dialect>>;
}

class ParsedTable implements ModelTable {
  readonly names: ReadonlySet<string>;
  readonly logged: ReadonlySet<string>;
  readonly picked: ReadonlySet<string>;
  readonly prioritized: ReadonlySet<string>;
  readonly prices: ReadonlyMap<string, Price>;
  readonly budgets: { readonly defaultMaxTokens: number } | undefined;
  readonly dialects: ReadonlyMap<string, Dialect>;
  readonly mixed: ReadonlyMap<string, ReadonlyMap<string, Dialect>>;
  private readonly aliases: ReadonlyMap<string, { readonly models: readonly string[]; readonly cumulative: readonly number[]; readonly total: number }>;

  constructor(t: z.infer<typeof tableSchema>) {
    const aliases = new Map<string, { models: string[]; cumulative: number[]; total: number }>();
    for (const [alias, targets] of Object.entries(t.aliases)) {
      let total = 0;
      const cumulative: number[] = [];
      for (const [, w] of targets) cumulative.push((total += w));
      aliases.set(alias, { models: targets.map(([m]) => m), cumulative, total });
    }
    this.aliases = aliases;
    this.names = new Set([...t.models, ...aliases.keys()]);
    this.logged = new Set(t.logged);
    this.picked = new Set(t.picked);
    this.prioritized = new Set(t.prioritized);
    this.prices = new Map(Object.entries(t.prices));
    this.budgets = t.budgets;
    this.dialects = new Map(Object.entries(t.dialects));
    this.mixed = new Map(Object.entries(t.mixed).map(([model, services]) => [model, new Map(Object.entries(services))]));
  }

  get aliasCount(): number {
    return this.aliases.size;
  }

  resolve(name: string, random = Math.random()): string {
    const a = this.aliases.get(name);
    if (!a) return name;
    const point = random * a.total;
    for (let i = 0; i < a.models.length; i++) if (point < a.cumulative[i]!) return a.models[i]!;
    return a.models[a.models.length - 1]!;
  }
}

export const EMPTY_TABLE: ModelTable = new ParsedTable({ models: [], aliases: {}, logged: [], picked: [], prioritized: [], prices: {}, dialects: {}, mixed: {} });

/** The table in a header value; a table that cannot be read is an error (no model is routed by guess). */
export function parseModelTable(text: string): ModelTable {
  const parsed = tableSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`the model table is not valid: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
  return new ParsedTable(parsed.data);
}

/** Tables by their text: the few distinct ones a fleet of config versions sends. */
export class ModelTables {
  private readonly byText = new Map<string, ModelTable>();
  constructor(
    private readonly max = 16,
    /** Each table the first time it is read (the picker watches its models' pools). */
    private readonly onNew: (t: ModelTable) => void = () => undefined,
  ) {}

  summaries(): Array<{ models: number; aliases: number }> {
    return [...this.byText.values()].map((t) => ({ models: t.names.size - t.aliasCount, aliases: t.aliasCount }));
  }

  get(text: string | undefined): ModelTable | undefined {
    if (text === undefined) return undefined;
    let t = this.byText.get(text);
    if (t) return t;
    try {
      t = parseModelTable(text);
    } catch {
      return undefined;
    }
    if (this.byText.size >= this.max) this.byText.delete(this.byText.keys().next().value!);
    this.byText.set(text, t);
    this.onNew(t);
    return t;
  }
}
