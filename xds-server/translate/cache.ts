// Translation results shared by the identity of the resolved objects they were made from. The
// resolver keeps what did not change as the same objects, so a thousand sidecars that call the
// same service get the same cluster and endpoint JSON (one encoding in the snapshot layer), and
// a rebuild translates again only what was resolved again. Weakly held: what the resolver lets
// go is let go here too. Memoisation of pure functions: with or without it, the same resolved
// mesh gives the same resources.
import type { JsonObject } from '../../shared/proto/codec.js';

export class TranslationCache {
  private readonly byObject = new WeakMap<object, Map<string, JsonObject | readonly JsonObject[]>>();

  /** `translate()`'s result for `source` (and `variant`, when one object is translated several ways). */
  of<T extends JsonObject | readonly JsonObject[]>(source: object, variant: string, translate: () => T): T {
    let forSource = this.byObject.get(source);
    if (!forSource) {
      forSource = new Map();
      this.byObject.set(source, forSource);
    }
    let out = forSource.get(variant) as T | undefined;
    if (!out) {
      out = translate();
      forSource.set(variant, out);
    }
    return out;
  }
}
