// Prometheus' text exposition format, read for the few series the console needs: each line
// `name{label="value",…} value [timestamp]` whose name is wanted, the rest skipped unparsed
// (a 1,000-cluster Envoy page has ~100,000 lines; the console reads a dozen names of them).
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

function parseLabels(text: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    while (text[i] === ',' || text[i] === ' ') i++;
    if (i >= text.length) break;
    const eq = text.indexOf('=', i);
    if (eq < 0 || text[eq + 1] !== '"') return undefined;
    const key = text.slice(i, eq).trim();
    let j = eq + 2;
    let value = '';
    while (j < text.length && text[j] !== '"') {
      if (text[j] === '\\' && j + 1 < text.length) {
        const c = text[j + 1]!;
        value += c === 'n' ? '\n' : c;
        j += 2;
      } else value += text[j++];
    }
    if (text[j] !== '"') return undefined;
    out[key] = value;
    i = j + 1;
  }
  return out;
}

/** The samples of the wanted names; malformed lines are skipped (a target's bad line costs only itself). */
export function parseExposition(text: string, wanted: ReadonlySet<string>): Sample[] {
  const out: Sample[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (!line || line[0] === '#') continue;
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    const nameEnd = brace >= 0 && (space < 0 || brace < space) ? brace : space;
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    if (!wanted.has(name)) continue;
    let labels: Record<string, string> | undefined = {};
    let rest: string;
    if (line[nameEnd] === '{') {
      const close = line.lastIndexOf('}');
      if (close < nameEnd) continue;
      labels = parseLabels(line.slice(nameEnd + 1, close));
      rest = line.slice(close + 1);
    } else rest = line.slice(nameEnd);
    const value = Number(rest.trim().split(' ')[0]);
    if (!labels || Number.isNaN(value) && !/nan/i.test(rest)) continue;
    out.push({ name, labels, value });
  }
  return out;
}

/** Prometheus' histogram_quantile over cumulative bucket counts (sorted by le, +Inf last). */
export function histogramQuantile(q: number, buckets: ReadonlyArray<readonly [le: number, count: number]>): number | undefined {
  if (buckets.length < 2) return undefined;
  const total = buckets[buckets.length - 1]![1];
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe; // the last finite bound, as Prometheus answers
      return prevLe + (le - prevLe) * ((rank - prevCount) / Math.max(count - prevCount, Number.EPSILON));
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}
