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

/**
 * The hint for an unknown flag that names a `--set` key or alias (`--epochs 3` -> `--set epochs=3`), or ''.
 * `setKeys`: the keys `--set` accepts (aliases and dotted keys); `value`: the flag's value as typed, if any.
 * @example
 * setFlagHint('epochs', ['epochs', 'train.epochs'], '3') // ' Did you mean --set epochs=3?'
 */
export function setFlagHint(flag: string, setKeys: Iterable<string>, value?: string): string {
  const keys = [...setKeys];
  flag = flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  const key = keys.find((k) => k === flag) ?? keys.find((k) => k.endsWith(`.${flag}`));
  return key === undefined ? '' : ` Did you mean --set ${key}=${value ?? '<value>'}?`;
}

/**
 * An unknown name of a closed set (a command, a model, an experiment) as a message tail: the nearest known one,
 * then the known ones, then `how` (what to do to add one).
 * @example
 * unknownNameHint('trian', ['train', 'evaluate'], 'fer --help lists them') // ' Did you mean "train"? Known: train, evaluate. fer --help lists them.'
 */
export function unknownNameHint(word: string, known: readonly string[], how?: string): string {
  return `${didYouMean(word, known)} Known: ${known.join(', ')}.${how ? ` ${how}` : ''}`;
}
