// "Did you mean ...?" for unknown flags, `--set` keys and names: the nearest candidate by edit distance.

/** Levenshtein distance (insertions, deletions, substitutions), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase(), t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[t.length];
}

/**
 * The candidate nearest to `word` when it is close enough to be a slip (at most a third of its length, at
 * least 2 edits; or `word` is a prefix or a dotted tail of it), else undefined.
 * @example
 * nearest('modle', ['model', 'data']) // 'model'
 */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined, bestD = Infinity;
  for (const c of candidates) {
    const d = c.endsWith(`.${word}`) || c.startsWith(word) ? 0.5 : editDistance(word, c);
    if (d < bestD) { best = c; bestD = d; }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** ` Did you mean "x"?` or '' (for the end of an error message). */
export function didYouMean(word: string, candidates: Iterable<string>, format: (c: string) => string = (c) => `"${c}"`): string {
  const n = nearest(word, candidates);
  return n === undefined ? '' : ` Did you mean ${format(n)}?`;
}
