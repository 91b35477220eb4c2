// Repeatable pseudo-random integers for fuzz-style tests: the same seed, the same sequence
// (a linear congruential generator), so a failure can be run again as it was.
export function seededRandom(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
}
