// The one rule for a thing two services claim — a gateway path, a gRPC service a transcoded
// route answers: the first claimant by name gets it, and every other claim is refused whole
// and reported. Deterministic, so every xds-server replica and every rebuild agree.
export interface Claim<T> {
  readonly owner: string;
  readonly keys: readonly string[];
  readonly item: T;
}

export interface Conflict<T> {
  /** The keys already taken. */
  readonly keys: readonly string[];
  readonly winner: string;
  readonly loser: string;
  readonly item: T;
}

/** Granted claims keep their order; a claim whose keys another (earlier by name) took is refused. */
export function decideClaims<T>(claims: ReadonlyArray<Claim<T>>): { readonly granted: ReadonlyArray<Claim<T>>; readonly conflicts: ReadonlyArray<Conflict<T>> } {
  const byName = claims.map((c, i) => [c, i] as const).sort(([a, i], [b, j]) => (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : i - j));
  const owners = new Map<string, string>();
  const refused = new Set<number>();
  const conflicts: Array<Conflict<T> & { readonly at: number }> = [];
  for (const [claim, i] of byName) {
    const taken = claim.keys.filter((k) => owners.has(k) && owners.get(k) !== claim.owner);
    if (taken.length) {
      refused.add(i);
      conflicts.push({ keys: taken, winner: owners.get(taken[0]!)!, loser: claim.owner, item: claim.item, at: i });
      continue;
    }
    for (const k of claim.keys) owners.set(k, claim.owner);
  }
  // Reported in the claims' own order.
  conflicts.sort((a, b) => a.at - b.at);
  return { granted: claims.filter((_, i) => !refused.has(i)), conflicts: conflicts.map(({ at: _, ...c }) => c) };
}
