// What "no skill" scores on a split: chance (a uniform guess over the 7 classes) and the majority-class rate
// (always answering the most frequent class of that split). Every accuracy table and chart shows both, so a
// network that predicts one class for everything reads as untrained, not broken.
import { CLASS_NAMES } from '../job/spec.js';

export interface Baselines {
  /** 1 / number of classes. */
  chance: number;
  /** The most frequent class of the split and its share of the rows. */
  majority: { cls: string; rate: number };
  rows: number;
}

/**
 * @example
 * baselines(Uint8Array.from([3, 3, 0, 6])) // { chance: 1/7, majority: { cls: 'Happy', rate: 0.5 }, rows: 4 }
 */
export function baselines(labels: ArrayLike<number>, numClasses: number = CLASS_NAMES.length, classNames: readonly string[] = CLASS_NAMES): Baselines {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) if (labels[i] < numClasses) counts[labels[i]]++;
  let best = 0;
  for (let c = 1; c < numClasses; c++) if (counts[c] > counts[best]) best = c;
  return { chance: 1 / numClasses, majority: { cls: classNames[best] ?? String(best), rate: labels.length ? counts[best] / labels.length : NaN }, rows: labels.length };
}

const pct = (x: number) => (x * 100).toFixed(1);

/** One line under a table: "Baselines: chance 14.3% · majority class (Happy) 25.0% of PublicTest, ...". */
export function baselineLine(splits: { name: string; b: Baselines }[]): string {
  const chance = splits[0]?.b.chance ?? 1 / 7;
  return `Baselines (no skill): chance ${pct(chance)}% (a uniform guess over ${Math.round(1 / chance)} classes) · always the majority class: ${splits.map((s) => `${s.b.majority.cls} ${pct(s.b.majority.rate)}% of ${s.name} (${s.b.rows} rows)`).join(', ')}.`;
}

/** Per-class recall baselines: chance is 1/7 for every class; always-majority scores 100% on that class and 0% elsewhere. */
export function perClassBaselineLine(split: { name: string; b: Baselines }): string {
  return `Baselines (no skill): chance ${pct(split.b.chance)}% per class (uniform guess); always answering the majority class (${split.b.majority.cls}, ${pct(split.b.majority.rate)}% of ${split.name}) scores 100% on ${split.b.majority.cls} and 0% on every other class.`;
}
