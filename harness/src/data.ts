// The one data resolution of the harness: `--data`, else FER2013_PATH, else the synthetic FER-like faces
// (said loudly). `fer train/evaluate/sweep`, `pnpm reproduce` and `fer bench` all read it here.
import { basename, isAbsolute, resolve } from 'node:path';
import { loadDataset, makeSyntheticFer, splitIndices, stratifiedHoldout, SPLITS, type FerDataset, type LoadOptions } from '@fer/data';
import { FerCliError } from './errors.js';

/** Seed of the synthetic data set used when no data is given (the one synthetic seed of the harness). */
export const SYNTHETIC_SEED = 2017;

/** What a data set is, for run records and job hashes. */
export interface DataIdentity {
  /** Short name used in the default output folder: 'synthetic' or 'fer2013'. */
  id: string;
  /** Content fingerprint (labels, splits, sampled pixels). */
  fingerprint: string;
  source: string;
  synthetic: boolean;
}

/**
 * A path the user typed, resolved against the folder they typed it in: `pnpm fer ...` runs at the repository
 * root, and pnpm keeps the user's folder in INIT_CWD.
 */
export function userPath(p: string): string {
  return isAbsolute(p) ? p : resolve(process.env.INIT_CWD ?? process.cwd(), p);
}

/** `--data synthetic`: the embedded synthetic set, whatever FER2013_PATH says. */
export const SYNTHETIC_DATA = 'synthetic';

/**
 * The data path to load: `given` (--data), else FER2013_PATH; an empty string counts as unset;
 * `synthetic` ({@link SYNTHETIC_DATA}) means none (the synthetic set, FER2013_PATH ignored).
 */
export function dataPath(given?: string): string | undefined {
  if (given === SYNTHETIC_DATA) return undefined;
  const p = given || process.env.FER2013_PATH || undefined;
  return p === undefined ? undefined : userPath(p);
}

/** Stable identity of a data set: its source kind plus a fingerprint of labels, splits and pixels. */
export function dataIdentity(ds: FerDataset): DataIdentity {
  const h = fnv1a(ds.pixels, 97, fnv1a(ds.splits, 1, fnv1a(ds.labels)));
  return { id: ds.synthetic ? 'synthetic' : 'fer2013', fingerprint: `${ds.count}-${h.toString(16)}`, source: ds.synthetic ? 'synthetic' : basename(ds.source), synthetic: ds.synthetic };
}

/**
 * Loads {@link dataPath}, else the synthetic data set (`makeSyntheticFer({ seed: SYNTHETIC_SEED })`), and says
 * so through `log` in capitals: its numbers are not FER2013 results.
 */
export async function resolveData(given: string | undefined, log: (line: string) => void, load: LoadOptions = {}, o: DataFlags & { needSplits?: boolean } = {}): Promise<{ ds: FerDataset; identity: DataIdentity }> {
  const p = dataPath(given);
  if (!p && load.ferPlus) {
    throw new FerCliError('E_BAD_OPTION', `--ferplus ${load.ferPlus}: FER+ labels join the FER2013 rows, but ${given === SYNTHETIC_DATA ? '--data synthetic' : 'no --data and no FER2013_PATH'} means the synthetic faces, which have none; expected --data PATH/fer2013.csv with --ferplus. Give the data set, or drop --ferplus.`);
  }
  if (!p) log(`SYNTHETIC DATA: ${given === SYNTHETIC_DATA ? '--data synthetic' : 'no --data and no FER2013_PATH'}, so the synthetic FER-like faces are used (makeSyntheticFer, seed ${SYNTHETIC_SEED}). Numbers say nothing about FER2013.`);
  const opts: LoadOptions = { ...load, ...(o.skipBadRows ? { onBadRow: 'skip' as const } : {}), ...(o.dropTestDuplicates ? { dropTestDuplicates: true } : {}) };
  let ds: FerDataset;
  try {
    ds = p ? await loadDataset(p, opts) : makeSyntheticFer({ seed: SYNTHETIC_SEED });
  } catch (e) {
    throw cliHint(e);
  }
  if (p && ds.skipped) log(`data: skipped ${ds.skipped} bad row(s) (--skip-bad-rows)`);
  if (o.splitSeed !== undefined) ds = carveSplits(ds, o.splitSeed, log);
  else if (o.needSplits) requireSplits(ds);
  return { ds, identity: dataIdentity(ds) };
}

/** The data flags of `fer train`, `pnpm reproduce` and `fer data stats` (@fer/data load options on the command line). */
export interface DataFlags {
  /** --skip-bad-rows: @fer/data `onBadRow: 'skip'`. */
  skipBadRows?: boolean;
  /** --drop-test-duplicates: @fer/data `dropTestDuplicates` (test rows whose image is also in Training). */
  dropTestDuplicates?: boolean;
  /** --split-seed N: a file without PublicTest/PrivateTest rows (no Usage column) gets 10% + 10% of its rows held out, stratified and seeded. */
  splitSeed?: number;
}

/** Their citty definitions (one place: train, reproduce and data stats take the same). */
export const DATA_FLAG_ARGS = {
  'skip-bad-rows': { type: 'boolean', description: 'skip rows that cannot be read (the count skipped is printed) instead of stopping at the first' },
  'drop-test-duplicates': { type: 'boolean', description: 'drop PublicTest/PrivateTest rows whose image also appears in Training' },
  'split-seed': { type: 'string', description: 'data with no Usage column (all rows Training): hold out 10% as PublicTest and 10% as PrivateTest, stratified by class, with this seed' },
} as const;

/** {@link DataFlags} from citty's parsed arguments (E_BAD_OPTION for a --split-seed that is not an integer). */
export function dataFlags(args: Record<string, unknown>): DataFlags {
  const seed = args['split-seed'] ?? args.splitSeed;
  if (seed !== undefined && !/^\d+$/.test(String(seed))) throw new FerCliError('E_BAD_OPTION', `--split-seed ${String(seed)}: expected a non-negative integer, e.g. --split-seed 1.`);
  return {
    ...(args['skip-bad-rows'] || args.skipBadRows ? { skipBadRows: true } : {}),
    ...(args['drop-test-duplicates'] || args.dropTestDuplicates ? { dropTestDuplicates: true } : {}),
    ...(seed !== undefined ? { splitSeed: Number(seed) } : {}),
  };
}

/** The flags again, for a command that repeats the run (the continue command). */
export function dataFlagsArgv(f: DataFlags): string[] {
  return [...(f.skipBadRows ? ['--skip-bad-rows'] : []), ...(f.dropTestDuplicates ? ['--drop-test-duplicates'] : []), ...(f.splitSeed !== undefined ? ['--split-seed', String(f.splitSeed)] : [])];
}

/** A library error's hint in the library's words (`pass { onBadRow: 'skip' }`) as the flag that does it here. */
function cliHint(e: unknown): unknown {
  if (e instanceof Error && e.message.includes("{ onBadRow: 'skip' }")) {
    e.message = e.message.replace(/pass \{ onBadRow: 'skip' \}( to skip[^(.]*)(\(the count skipped is returned\))?/, 'pass --skip-bad-rows$1(the count skipped is printed)');
  }
  return e;
}

/**
 * A data set without validation rows cannot train a run that picks its best epoch on PublicTest: throws
 * E_EMPTY_INPUT at load time saying why (no Usage column: every row was read as Training) and what to do.
 */
export function requireSplits(ds: FerDataset): void {
  const missing = SPLITS.slice(1).filter((s) => splitIndices(ds, s).length === 0);
  if (missing.length === 0) return;
  throw new FerCliError('E_EMPTY_INPUT', `${ds.source}: no ${missing.join(' and no ')} rows (${ds.count} rows, all ${[...new Set(Array.from(ds.splits, (i) => SPLITS[i]))].join('/')}; a CSV without a Usage column is read as all Training), so there is no validation split to pick the best epoch on${missing.includes('PrivateTest') ? ' and no test split to report' : ''}. Add a Usage column (Training, PublicTest or PrivateTest on each row), or hold rows out with --split-seed N (10% PublicTest + 10% PrivateTest, stratified by class, seeded).`);
}

/** `--split-seed N`: 10% of the Training rows become PublicTest and 10% PrivateTest (stratified, seeded); data that has both splits is left alone. */
export function carveSplits(ds: FerDataset, seed: number, log: (line: string) => void): FerDataset {
  if (splitIndices(ds, 'PublicTest').length && splitIndices(ds, 'PrivateTest').length) {
    log(`data: --split-seed ${seed} ignored: ${ds.source} already has PublicTest and PrivateTest rows.`);
    return ds;
  }
  const training = splitIndices(ds, 'Training');
  const held = stratifiedHoldout(ds.labels, training, { fraction: 0.2, seed }).holdout;
  const halves = stratifiedHoldout(ds.labels, held, { fraction: 0.5, seed: seed + 1 });
  const splits = Uint8Array.from(ds.splits);
  for (const i of halves.train) splits[i] = SPLITS.indexOf('PublicTest');
  for (const i of halves.holdout) splits[i] = SPLITS.indexOf('PrivateTest');
  log(`data: --split-seed ${seed}: ${halves.train.length} rows held out as PublicTest and ${halves.holdout.length} as PrivateTest (stratified by class), ${training.length - held.length} stay Training.`);
  return { ...ds, splits };
}

/** FNV-1a over bytes, sampled with a stride: a cheap fingerprint of a data set. */
export function fnv1a(bytes: Uint8Array, stride = 1, h = 0x811c9dc5): number {
  for (let i = 0; i < bytes.length; i += stride) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
