import { FerMetricsError } from './errors.js';
import {
  checkClassNames,
  checkKeys,
  checkLabels,
  checkNumClasses,
  inferNumClasses,
  labelArray,
  sameLength,
  type LabelArray,
} from './_validate.js';

/** Options of {@link confusionMatrix}. Named, because the two label arrays are easy to swap. */
export interface ConfusionMatrixOptions {
  /** True class index of each row (ground truth). */
  actual: LabelArray;
  /** Predicted class index of each row (e.g. argmax of the model's probabilities). */
  predicted: LabelArray;
  /** Number of classes; default `classNames.length`, else the largest label seen + 1. */
  numClasses?: number;
  /** One display name per class index; default `"0"`, `"1"`, ... */
  classNames?: readonly string[];
  /** Alias of `classNames` (the spelling of issue 4); give one or the other. */
  labels?: readonly string[];
}

/** Per-class measures. Undefined ratios are 0, as scikit-learn's `zero_division=0`. */
export interface ClassMetrics {
  /** Class index. */
  index: number;
  name: string;
  /** Per-class accuracy as in the paper = recall = TP / support; 0 when the class never occurs in `actual`. */
  recall: number;
  /** TP / (times predicted); 0 when the class is never predicted. */
  precision: number;
  /** Harmonic mean of precision and recall; 0 when both are 0. */
  f1: number;
  /** Rows whose actual class is this one. */
  support: number;
  /** Rows predicted as this class. */
  predictedCount: number;
}

/** Unweighted (macro) or support-weighted average of the per-class measures. */
export interface AveragedMetrics {
  precision: number;
  recall: number;
  f1: number;
}

/** The result of {@link confusionMatrix}; plain JSON-serialisable data (kappa may be NaN). */
export interface ConfusionReport {
  numClasses: number;
  classNames: string[];
  /** Number of rows. */
  total: number;
  /** Rows with predicted == actual. */
  correct: number;
  /** `counts[actual][predicted]`: rows are true classes, columns are predictions (scikit-learn layout). */
  counts: number[][];
  /** Each row divided by its sum (per-class recall on the diagonal); a row with no samples is all 0. */
  normalized: number[][];
  /** correct / total. */
  accuracy: number;
  perClass: ClassMetrics[];
  /** Mean over all `numClasses` classes, including absent ones (scikit-learn `average='macro'`, labels = all classes). */
  macro: AveragedMetrics;
  /** Mean weighted by support (scikit-learn `average='weighted'`). */
  weighted: AveragedMetrics;
  /** Cohen's kappa (unweighted); NaN when undefined (expected agreement 1, e.g. one class only). */
  kappa: number;
}

/**
 * Confusion matrix and the measures derived from it: accuracy, per-class recall (the paper's
 * "per-class accuracy"), precision, F1 and support, macro and weighted averages, Cohen's kappa.
 *
 * Matches scikit-learn (`confusion_matrix`, `precision_recall_fscore_support(zero_division=0)`,
 * `cohen_kappa_score`) with `labels=range(numClasses)`; tested against it to 1e-12.
 *
 * @example
 * const r = confusionMatrix({ actual: [0, 1, 2, 2], predicted: [0, 2, 2, 2], classNames: ['a', 'b', 'c'] });
 * r.accuracy;            // 0.75
 * r.perClass[1].recall;  // 0 (b was never recognised)
 * r.counts;              // [[1,0,0],[0,0,1],[0,0,2]]
 */
export function confusionMatrix(options: ConfusionMatrixOptions): ConfusionReport {
  const fn = 'confusionMatrix';
  checkKeys(fn, options, ['actual', 'predicted', 'numClasses', 'classNames', 'labels']);
  const actual = labelArray(fn, 'actual', options.actual);
  const predicted = labelArray(fn, 'predicted', options.predicted);
  sameLength(fn, ['actual', actual], ['predicted', predicted]);
  if (options.classNames !== undefined && options.labels !== undefined) {
    throw new FerMetricsError('E_BAD_OPTION', `${fn}: got both classNames and labels, expected one of them (labels is an alias of classNames). Remove one.`);
  }
  const names = options.classNames ?? options.labels;
  const numClasses = resolveNumClasses(fn, options.numClasses, names, actual, predicted);
  const classNames = names === undefined ? Array.from({ length: numClasses }, (_, i) => String(i)) : checkClassNames(fn, names, numClasses);

  const counts = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < actual.length; i++) counts[actual[i]][predicted[i]] += 1;
  return reportFromCounts(counts, classNames);
}

/**
 * Builds a {@link ConfusionReport} from an existing count matrix (`counts[actual][predicted]`),
 * e.g. one read back from `confusion.csv`.
 * @example
 * confusionReportFromCounts([[5, 1], [2, 4]], ['no', 'yes']).accuracy; // 0.75
 */
export function confusionReportFromCounts(counts: readonly (readonly number[])[], classNames?: readonly string[]): ConfusionReport {
  const fn = 'confusionReportFromCounts';
  if (!Array.isArray(counts) || counts.length === 0) {
    throw new FerMetricsError('E_EMPTY_INPUT', `${fn}: counts is empty or not an array, expected a square matrix of non-negative integers (rows = actual classes).`);
  }
  const k = counts.length;
  let total = 0;
  for (let i = 0; i < k; i++) {
    const row = counts[i];
    if (!Array.isArray(row) || row.length !== k) {
      throw new FerMetricsError('E_BAD_INPUT', `${fn}: counts[${i}] has ${Array.isArray(row) ? row.length : 'no'} entries, expected ${k} (a square matrix).`);
    }
    for (let j = 0; j < k; j++) {
      const v = row[j];
      if (!Number.isInteger(v) || v < 0) {
        throw new FerMetricsError('E_BAD_INPUT', `${fn}: counts[${i}][${j}] is ${v}, expected a non-negative integer count.`);
      }
      total += v;
    }
  }
  if (total === 0) {
    throw new FerMetricsError('E_EMPTY_INPUT', `${fn}: counts are all 0, expected at least one counted row.`);
  }
  const names = classNames === undefined ? Array.from({ length: k }, (_, i) => String(i)) : checkClassNames(fn, classNames, k);
  return reportFromCounts(counts.map((r) => [...r]), names);
}

// --- Internal helpers ---

function resolveNumClasses(fn: string, numClasses: unknown, names: readonly string[] | undefined, ...arrays: ArrayLike<number>[]): number {
  if (numClasses !== undefined) {
    const k = checkNumClasses(fn, numClasses);
    arrays.forEach((arr, i) => checkLabels(fn, i === 0 ? 'actual' : 'predicted', arr, k));
    return k;
  }
  arrays.forEach((arr, i) => checkLabels(fn, i === 0 ? 'actual' : 'predicted', arr, names?.length));
  if (names !== undefined) return names.length;
  const k = inferNumClasses(...arrays);
  if (k > MAX_INFERRED_CLASSES) {
    throw new FerMetricsError(
      'E_BAD_LABEL',
      `${fn}: the largest label is ${k - 1}, which would make a ${k} x ${k} matrix; expected class indices (0..6 for FER2013). Pass numClasses explicitly if you really have ${k} classes.`,
    );
  }
  return k;
}

/** Inferring more classes than this from the data is almost surely a mistake (pixels or ids passed as labels). */
const MAX_INFERRED_CLASSES = 1000;

function reportFromCounts(counts: number[][], classNames: string[]): ConfusionReport {
  const k = counts.length;
  const rowSums = counts.map((r) => r.reduce((s, v) => s + v, 0));
  const colSums = new Array<number>(k).fill(0);
  let total = 0;
  let correct = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) colSums[j] += counts[i][j];
    total += rowSums[i];
    correct += counts[i][i];
  }
  const normalized = counts.map((r, i) => r.map((v) => (rowSums[i] === 0 ? 0 : v / rowSums[i])));
  const perClass: ClassMetrics[] = classNames.map((name, i) => {
    const tp = counts[i][i];
    const recall = rowSums[i] === 0 ? 0 : tp / rowSums[i];
    const precision = colSums[i] === 0 ? 0 : tp / colSums[i];
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { index: i, name, recall, precision, f1, support: rowSums[i], predictedCount: colSums[i] };
  });
  const macro = average(perClass, () => 1 / k);
  const weighted = average(perClass, (c) => c.support / total);
  // Cohen 1960: kappa = (p_o - p_e) / (1 - p_e), computed as scikit-learn does: 1 - observed / expected disagreement.
  let expectedDisagreement = 0;
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) if (i !== j) expectedDisagreement += (rowSums[i] * colSums[j]) / total;
  const kappa = expectedDisagreement === 0 ? Number.NaN : 1 - (total - correct) / expectedDisagreement;
  return { numClasses: k, classNames, total, correct, counts, normalized, accuracy: correct / total, perClass, macro, weighted, kappa };
}

function average(perClass: ClassMetrics[], weight: (c: ClassMetrics) => number): AveragedMetrics {
  let precision = 0;
  let recall = 0;
  let f1 = 0;
  for (const c of perClass) {
    const w = weight(c);
    precision += w * c.precision;
    recall += w * c.recall;
    f1 += w * c.f1;
  }
  return { precision, recall, f1 };
}
