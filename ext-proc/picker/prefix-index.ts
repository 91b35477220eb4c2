// Where each prompt prefix was last sent: the prompt's leading text in blocks of `blockChars`,
// each named by the hash of everything up to its end (so a block's name implies every block
// before it), mapped to the endpoint that got it — an approximation of what each server holds
// in its prefix cache, as the Gateway API inference extension's prefix scorer keeps one. Bounded:
// the least recently used names go first.
import { hash } from 'node:crypto';

export interface PrefixOptions {
  readonly blockChars: number;
  /** Blocks of a prompt looked at (the rest of a long prompt does not move the choice). */
  readonly maxBlocks: number;
  /** Block names kept, all prompts together. */
  readonly maxEntries: number;
}

/** The names of a text's full leading blocks. */
export function prefixBlocks(text: string, o: Pick<PrefixOptions, 'blockChars' | 'maxBlocks'>): string[] {
  const n = Math.min(o.maxBlocks, Math.floor(text.length / o.blockChars));
  const out: string[] = [];
  // Each name hashes the one before it with its block: a name still stands for the whole prefix,
  // and one-shot hashes cost a quarter of a running hash copied at every block (bench/RESULTS.md).
  let name = '';
  for (let i = 0; i < n; i++) {
    name = hash('sha256', name + text.slice(i * o.blockChars, (i + 1) * o.blockChars), 'base64url').slice(0, 16);
    out.push(name);
  }
  return out;
}

export class PrefixIndex {
  private readonly owner = new Map<string, string>();
  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.owner.size;
  }

  /** For each endpoint, how many of `blocks`' leading blocks it was last sent. */
  matches(blocks: readonly string[]): Map<string, number> {
    const out = new Map<string, number>();
    for (let i = 0; i < blocks.length; i++) {
      const who = this.owner.get(blocks[i]!);
      if (who !== undefined) out.set(who, i + 1);
    }
    return out;
  }

  record(blocks: readonly string[], endpoint: string): void {
    for (const b of blocks) {
      this.owner.delete(b);
      this.owner.set(b, endpoint);
    }
    while (this.owner.size > this.maxEntries) this.owner.delete(this.owner.keys().next().value!);
  }
}
