import { checkKeys, checkNumber } from './_config.js';
import { mixSeed, mulberry32, shuffleInPlace } from './_rng.js';
import { subsetDataset, type FerDataset } from './dataset.js';
import { FerDataError } from './errors.js';
import { NO_LABEL, SPLITS, type SplitName } from './labels.js';

/**
 * Row indices of one official split, in file order.
 * @example
 * const train = splitIndices(ds, 'Training'); // Uint32Array(28709) on the real FER2013
 */
export function splitIndices(ds: FerDataset, split: SplitName): Uint32Array {
  const s = SPLITS.indexOf(split);
  if (s < 0) throw new FerDataError('E_BAD_USAGE', `splitIndices: got split ${JSON.stringify(split)}, expected one of ${SPLITS.join(', ')}.`);
  let n = 0;
  for (let i = 0; i < ds.count; i++) if (ds.splits[i] === s) n++;
  const out = new Uint32Array(n);
  for (let i = 0, j = 0; i < ds.count; i++) if (ds.splits[i] === s) out[j++] = i;
  return out;
}

/**
 * Seeded stratified hold-out: splits `indices` so each class keeps its proportion in both parts
 * (per class, round(fraction * classCount) rows go to `holdout`). Rows without a label stay in `train`.
 * @example
 * const { train, holdout } = stratifiedHoldout(ds.labels, splitIndices(ds, 'Training'), { fraction: 0.1, seed: 1 });
 */
export function stratifiedHoldout(
  labels: Uint8Array, indices: ArrayLike<number>, opts: { fraction: number; seed?: number },
): { train: Uint32Array; holdout: Uint32Array } {
  checkKeys('stratifiedHoldout', opts, ['fraction', 'seed']);
  const fraction = checkNumber('stratifiedHoldout', 'fraction', opts.fraction, 0, 1);
  const groups = byClass(labels, indices, 'stratifiedHoldout');
  const r = mulberry32(mixSeed(opts.seed ?? 0, 0x401d));
  const train: number[] = [], holdout: number[] = [];
  for (const [label, g] of groups) {
    if (label === NO_LABEL) { train.push(...g); continue; }
    shuffleInPlace(g, r);
    const k = Math.round(g.length * fraction);
    for (let j = 0; j < g.length; j++) (j < k ? holdout : train).push(g[j]);
  }
  return { train: Uint32Array.from(train).sort(), holdout: Uint32Array.from(holdout).sort() };
}

/**
 * Seeded stratified k-fold: `k` folds, each class dealt round-robin over the folds after a shuffle,
 * so fold sizes per class differ by at most one. Each fold's `test` is disjoint; `train` is the rest.
 * @example
 * for (const { train, test } of stratifiedKFold(ds.labels, splitIndices(ds, 'Training'), { k: 5, seed: 1 })) { ... }
 */
export function stratifiedKFold(
  labels: Uint8Array, indices: ArrayLike<number>, opts: { k: number; seed?: number },
): { train: Uint32Array; test: Uint32Array }[] {
  checkKeys('stratifiedKFold', opts, ['k', 'seed']);
  const k = checkNumber('stratifiedKFold', 'k', opts.k, 2, Math.max(2, indices.length), true);
  const groups = byClass(labels, indices, 'stratifiedKFold');
  const r = mulberry32(mixSeed(opts.seed ?? 0, 0xf01d));
  const fold = new Map<number, number>();
  let offset = 0;
  for (const [, g] of groups) {
    shuffleInPlace(g, r);
    // NOTE: continue the round-robin across classes so small classes do not all land in fold 0.
    for (let j = 0; j < g.length; j++) fold.set(g[j], (offset + j) % k);
    offset = (offset + g.length) % k;
  }
  const out: { train: Uint32Array; test: Uint32Array }[] = [];
  for (let f = 0; f < k; f++) {
    const train: number[] = [], test: number[] = [];
    for (let j = 0; j < indices.length; j++) (fold.get(indices[j]) === f ? test : train).push(indices[j]);
    out.push({ train: Uint32Array.from(train), test: Uint32Array.from(test) });
  }
  return out;
}

/** Result of {@link findDuplicates}. */
export interface DuplicateReport {
  /** Groups of 2+ byte-identical images. */
  groups: number;
  /** Rows that belong to such a group. */
  rows: number;
  /** Rows that are an extra copy (rows - groups): what dropping all duplicates would remove. */
  extraCopies: number;
  /** Per split: groups and rows with 2+ copies inside that split. */
  within: Record<SplitName, { groups: number; rows: number }>;
  /** Per split pair: distinct images present in both splits. */
  across: { 'Training-PublicTest': number; 'Training-PrivateTest': number; 'PublicTest-PrivateTest': number };
  /** Groups whose copies carry different labels. */
  conflictingLabels: number;
  /** Rows of PublicTest/PrivateTest whose image also appears in Training. */
  testInTraining: Record<'PublicTest' | 'PrivateTest', number>;
  /** Rows where every pixel has the same value (e.g. blank black images). */
  constantImages: number;
  /** Row indices of each group (sorted), at most `maxGroups` of them. */
  members: number[][];
}

/**
 * Finds byte-identical images by hashing the pixels (two 32-bit FNV-1a style hashes, confirmed byte by byte),
 * within and across splits, with counts.
 * @example
 * const rep = findDuplicates(ds);
 * rep.across['Training-PrivateTest'] // images shared between Training and PrivateTest
 */
export function findDuplicates(ds: FerDataset, opts: { maxGroups?: number } = {}): DuplicateReport {
  checkKeys('findDuplicates', opts, ['maxGroups']);
  const maxGroups = checkNumber('findDuplicates', 'maxGroups', opts.maxGroups ?? 1000, 0, Number.MAX_SAFE_INTEGER, true);
  const px = ds.width * ds.height;
  const buckets = new Map<number, number[]>();
  let constantImages = 0;
  for (let i = 0; i < ds.count; i++) {
    const off = i * px;
    let h1 = 0x811c9dc5, h2 = 0x01000193 ^ 0x5bd1e995;
    const p0 = ds.pixels[off];
    let constant = true;
    for (let j = 0; j < px; j++) {
      const b = ds.pixels[off + j];
      h1 = Math.imul(h1 ^ b, 0x01000193);
      h2 = Math.imul(h2 ^ b, 0x5bd1e995) ^ (h2 >>> 15);
      if (b !== p0) constant = false;
    }
    if (constant) constantImages++;
    const key = (h1 >>> 0) * 2097152 + ((h2 >>> 0) & 0x1fffff); // 53-bit key
    const b = buckets.get(key);
    if (b) b.push(i);
    else buckets.set(key, [i]);
  }
  const within = Object.fromEntries(SPLITS.map((s) => [s, { groups: 0, rows: 0 }])) as DuplicateReport['within'];
  const across = { 'Training-PublicTest': 0, 'Training-PrivateTest': 0, 'PublicTest-PrivateTest': 0 };
  const testInTraining = { PublicTest: 0, PrivateTest: 0 };
  let groups = 0, rows = 0, conflictingLabels = 0;
  const members: number[][] = [];
  for (const cand of buckets.values()) {
    if (cand.length < 2) continue;
    for (const g of confirm(ds.pixels, px, cand)) {
      groups++;
      rows += g.length;
      if (members.length < maxGroups) members.push(g);
      const per = [0, 0, 0];
      let conflict = false;
      for (const i of g) {
        per[ds.splits[i]]++;
        if (ds.labels[i] !== ds.labels[g[0]]) conflict = true;
      }
      if (conflict) conflictingLabels++;
      SPLITS.forEach((s, k) => { if (per[k] >= 2) { within[s].groups++; within[s].rows += per[k]; } });
      if (per[0] && per[1]) across['Training-PublicTest']++;
      if (per[0] && per[2]) across['Training-PrivateTest']++;
      if (per[1] && per[2]) across['PublicTest-PrivateTest']++;
      if (per[0]) { testInTraining.PublicTest += per[1]; testInTraining.PrivateTest += per[2]; }
    }
  }
  return { groups, rows, extraCopies: rows - groups, within, across, conflictingLabels, testInTraining, constantImages, members };
}

/**
 * A copy of the data set without the PublicTest/PrivateTest rows whose image also appears in Training
 * (the count removed is in `dropped.testDuplicates`).
 * @example
 * const clean = dropTestDuplicates(ds);
 */
export function dropTestDuplicates(ds: FerDataset): FerDataset {
  const rep = findDuplicates(ds, { maxGroups: Number.MAX_SAFE_INTEGER });
  const drop = new Uint8Array(ds.count);
  for (const g of rep.members) {
    if (!g.some((i) => ds.splits[i] === 0)) continue;
    for (const i of g) if (ds.splits[i] !== 0) drop[i] = 1;
  }
  const keep: number[] = [];
  for (let i = 0; i < ds.count; i++) if (!drop[i]) keep.push(i);
  const out = subsetDataset(ds, keep);
  return { ...out, dropped: { ...(ds.dropped ?? {}), testDuplicates: ds.count - keep.length } };
}

// --- Internal helpers ---

function byClass(labels: Uint8Array, indices: ArrayLike<number>, where: string): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j];
    if (!Number.isInteger(i) || i < 0 || i >= labels.length) {
      throw new FerDataError('E_BAD_INDEX', `${where}: indices[${j}] is ${i}, expected a row index in [0, ${labels.length - 1}].`);
    }
    const l = labels[i];
    const g = groups.get(l);
    if (g) g.push(i);
    else groups.set(l, [i]);
  }
  return new Map([...groups.entries()].sort((a, b) => a[0] - b[0]));
}

/** Splits a hash bucket into groups of truly byte-identical images (guards against hash collisions). */
function confirm(pixels: Uint8Array, px: number, cand: number[]): number[][] {
  const out: number[][] = [];
  const used = new Uint8Array(cand.length);
  for (let a = 0; a < cand.length; a++) {
    if (used[a]) continue;
    const g = [cand[a]];
    const A = pixels.subarray(cand[a] * px, cand[a] * px + px);
    for (let b = a + 1; b < cand.length; b++) {
      if (used[b]) continue;
      const B = pixels.subarray(cand[b] * px, cand[b] * px + px);
      let same = true;
      for (let j = 0; j < px; j++) if (A[j] !== B[j]) { same = false; break; }
      if (same) { used[b] = 1; g.push(cand[b]); }
    }
    if (g.length >= 2) out.push(g);
  }
  return out;
}
