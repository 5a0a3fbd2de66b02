// Search spaces of `fer sweep` over any `--set` key: `--space key=spec`, repeatable, with spec
//   log:1e-5..1e-3   log-uniform        1e-5..1e-3   uniform
//   int:1..4         integer, uniform   256,512,1024 a choice (a single value: a constant)
// (and the older `key=log:lo:hi;key=lo:hi;key=choice:a,b;key=int:lo:hi` form in one string, kept as an alias).
// Draws are seeded (mulberry32 of the harness), so the same --seed draws the same trials.
import { mulberry32 } from '../rng.js';
import { SpecError } from '../job/spec.js';

/** One axis of a search space. */
export type SpaceAxis =
  | { key: string; kind: 'log' | 'uniform'; lo: number; hi: number }
  | { key: string; kind: 'int'; lo: number; hi: number }
  | { key: string; kind: 'choice'; values: string[] };

/** A trial's overrides, `key=value` strings for `--set`, in axis order. */
export type TrialSets = string[];

/**
 * Parses `--space` values (each `key=spec`, or the older `a=..;b=..` list) into axes.
 * @example
 * parseSpace(['lr=log:1e-5..1e-3', 'units=256,512,1024'])
 * // [{ key: 'lr', kind: 'log', lo: 1e-5, hi: 1e-3 }, { key: 'units', kind: 'choice', values: ['256', '512', '1024'] }]
 */
export function parseSpace(items: readonly string[]): SpaceAxis[] {
  const axes: SpaceAxis[] = [];
  for (const item of items.flatMap((s) => s.split(';')).map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq < 1) throw new SpecError('E_BAD_OPTION', `--space ${JSON.stringify(item)}: expected key=spec, e.g. lr=log:1e-5..1e-3, l2=1e-6..1e-3, units=256,512,1024 or depth=int:1..4.`);
    const key = item.slice(0, eq).trim();
    if (axes.some((a) => a.key === key)) throw new SpecError('E_BAD_OPTION', `--space ${key}: given twice; give each key once.`);
    axes.push(parseAxis(key, item.slice(eq + 1).trim()));
  }
  return axes;
}

function parseAxis(key: string, spec: string): SpaceAxis {
  const bad = (why: string) => new SpecError('E_BAD_OPTION', `--space ${key}=${spec}: ${why}; expected log:LO..HI (log-uniform), LO..HI (uniform), int:LO..HI, or a comma list a,b,c (choice).`);
  const m = /^(log|int|choice|uniform):(.*)$/s.exec(spec);
  const kind = m ? m[1] : undefined;
  const rest = m ? m[2] : spec;
  if (kind === 'choice' || (!kind && !rest.includes('..') && !/^\s*[-+\d.eE]+\s*:\s*[-+\d.eE]+\s*$/.test(rest))) {
    const values = splitTopLevel(rest);
    if (values.length === 0) throw bad('no values');
    return { key, kind: 'choice', values };
  }
  // a range: LO..HI, or the older LO:HI
  const parts = rest.includes('..') ? rest.split('..') : rest.split(':');
  if (parts.length !== 2) throw bad('a range needs exactly two ends');
  const lo = Number(parts[0]), hi = Number(parts[1]);
  if (parts[0].trim() === '' || parts[1].trim() === '' || !Number.isFinite(lo) || !Number.isFinite(hi)) throw bad('the ends of a range must be numbers');
  if (!(lo <= hi)) throw bad(`the low end ${lo} is above the high end ${hi}`);
  if (kind === 'log') {
    if (!(lo > 0)) throw bad('a log range needs positive ends');
    return { key, kind: 'log', lo, hi };
  }
  if (kind === 'int') {
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) throw bad('an int range needs integer ends');
    return { key, kind: 'int', lo, hi };
  }
  return { key, kind: 'uniform', lo, hi };
}

/** Whether the axis is sampled on a log scale (figures use a log x axis for it). */
export function isLogAxis(a: SpaceAxis): boolean {
  return a.kind === 'log';
}

/**
 * A seeded sampler of the space: draw i is the same for the same seed and axes, whatever was drawn before it
 * was used for. Continuous values keep 3 significant digits (so they read well and hash stably).
 * @example
 * const draw = randomSampler(parseSpace(['lr=log:1e-5..1e-3']), 1);
 * draw(0) // ['lr=0.000123'] (for example)
 */
export function randomSampler(axes: readonly SpaceAxis[], seed: number): (i: number) => TrialSets {
  const rand = mulberry32(seed);
  const drawn: TrialSets[] = [];
  const one = (): TrialSets => axes.map((a) => `${a.key}=${drawValue(a, rand)}`);
  return (i) => {
    while (drawn.length <= i) drawn.push(one());
    return drawn[i];
  };
}

function drawValue(a: SpaceAxis, rand: () => number): string {
  const u = rand();
  switch (a.kind) {
    case 'log': return String(+Math.exp(Math.log(a.lo) + u * (Math.log(a.hi) - Math.log(a.lo))).toPrecision(3));
    case 'uniform': return String(+(a.lo + u * (a.hi - a.lo)).toPrecision(3));
    case 'int': return String(Math.min(a.hi, a.lo + Math.floor(u * (a.hi - a.lo + 1))));
    case 'choice': return a.values[Math.min(a.values.length - 1, Math.floor(u * a.values.length))];
  }
}

/**
 * Draw i of `draw`, skipping draws equal to an earlier one (a choice-only space repeats itself); null once a
 * finite space of `size` trials is used up.
 */
export function distinctSampler(draw: (i: number) => TrialSets, size: number): (i: number) => TrialSets | null {
  const seen = new Set<string>();
  const kept: TrialSets[] = [];
  let j = 0;
  return (i) => {
    while (kept.length <= i) {
      if (kept.length >= size) return null;
      // NOTE: a finite space is used up after enough draws; the cap only guards against a bug in the sizes.
      if (j > 1000 * Math.min(size, 1e6) + 1000) return null;
      const sets = draw(j++);
      const id = sets.join('\u0000');
      if (seen.has(id)) continue;
      seen.add(id);
      kept.push(sets);
    }
    return kept[i];
  };
}

/** How many distinct trials the space holds (Infinity with a continuous axis). */
export function spaceSize(axes: readonly SpaceAxis[]): number {
  return axes.reduce((n, a) => n * (a.kind === 'choice' ? a.values.length : a.kind === 'int' ? a.hi - a.lo + 1 : Infinity), 1);
}

/**
 * `lr=1e-4,3e-4;l2=1e-4,1e-3` (or the same as several strings) -> the cartesian product of the values, first key
 * slowest.
 * @example
 * gridSets(['lr=1e-4,3e-4', 'l2=0,1e-4']) // [['lr=1e-4','l2=0'], ['lr=1e-4','l2=1e-4'], ['lr=3e-4','l2=0'], ['lr=3e-4','l2=1e-4']]
 */
export function gridSets(items: readonly string[]): TrialSets[] {
  const axes = items.flatMap((s) => s.split(';')).map((s) => s.trim()).filter(Boolean).map((axis) => {
    const eq = axis.indexOf('=');
    if (eq < 1) throw new SpecError('E_BAD_OPTION', `--grid ${JSON.stringify(axis)}: expected key=v1,v2,... (e.g. lr=1e-4,3e-4).`);
    const values = splitTopLevel(axis.slice(eq + 1));
    if (values.length === 0) throw new SpecError('E_BAD_OPTION', `--grid ${JSON.stringify(axis)}: no values; expected key=v1,v2,...`);
    return { key: axis.slice(0, eq).trim(), values };
  });
  let combos: string[][] = [[]];
  for (const a of axes) combos = combos.flatMap((c) => a.values.map((v) => [...c, `${a.key}=${v}`]));
  return combos.filter((c) => c.length);
}

/** Splits on commas outside brackets: `[256,512],[512,512]` -> two values. */
export function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0, cur = '';
  for (const ch of s) {
    if (ch === '[' || ch === '{') depth++;
    if (ch === ']' || ch === '}') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out.filter((v) => v.length > 0);
}
