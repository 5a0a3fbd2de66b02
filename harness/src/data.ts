// The one data resolution of the harness: `--data`, else FER2013_PATH, else the synthetic FER-like faces
// (said loudly). `fer train/evaluate/sweep`, `pnpm reproduce` and `fer bench` all read it here.
import { basename, isAbsolute, resolve } from 'node:path';
import { loadDataset, makeSyntheticFer, type FerDataset, type LoadOptions } from '@fer/data';
import { FerCliError } from './errors.js';
import { fnv1a } from './reproduce/hash.js';

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
export async function resolveData(given: string | undefined, log: (line: string) => void, load: LoadOptions = {}): Promise<{ ds: FerDataset; identity: DataIdentity }> {
  const p = dataPath(given);
  if (!p && load.ferPlus) {
    throw new FerCliError('E_BAD_OPTION', `--ferplus ${load.ferPlus}: FER+ labels join the FER2013 rows, but ${given === SYNTHETIC_DATA ? '--data synthetic' : 'no --data and no FER2013_PATH'} means the synthetic faces, which have none; expected --data PATH/fer2013.csv with --ferplus. Give the data set, or drop --ferplus.`);
  }
  if (!p) log(`SYNTHETIC DATA: ${given === SYNTHETIC_DATA ? '--data synthetic' : 'no --data and no FER2013_PATH'}, so the synthetic FER-like faces are used (makeSyntheticFer, seed ${SYNTHETIC_SEED}). Numbers say nothing about FER2013.`);
  const ds = p ? await loadDataset(p, load) : makeSyntheticFer({ seed: SYNTHETIC_SEED });
  return { ds, identity: dataIdentity(ds) };
}
