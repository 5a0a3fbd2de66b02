// The two networks of the paper, shared by several experiments: identical rows hash to the same
// training job, so one deep model feeds tables 1, 2, 4, 5, 6, 7 and 8.
import type { RowSpec } from '../src/reproduce/spec.js';

export const PER_CLASS = {
  shallow: { Angry: 0.41, Disgust: 0.32, Fear: 0.54, Happy: 0.75, Sad: 0.32, Surprise: 0.675, Neutral: 0.399 },
  deep: { Angry: 0.53, Disgust: 0.7, Fear: 0.46, Happy: 0.805, Sad: 0.63, Surprise: 0.625, Neutral: 0.515 },
} as const;

/** Alizadeh & Fazel 2017: shallow net trained 30 epochs, deep net 35, batch 128. */
export function shallowRow(paper: Record<string, number>): RowSpec {
  return { row: 'shallow', label: 'Shallow CNN', model: { name: 'paper-shallow', config: {} }, train: { epochs: 30 }, paper };
}
export function deepRow(paper: Record<string, number>): RowSpec {
  return { row: 'deep', label: 'Deep CNN', model: { name: 'paper-deep', config: {} }, train: { epochs: 35 }, paper };
}
