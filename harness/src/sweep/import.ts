// `fer sweep --from`: a sweep continued on another machine (or after its folder was lost) takes the trials it
// already has results for from a record of the same sweep: another sweep folder (only its small per-trial files
// are read: trial.json, history.json, config.json, result.json, test-curve.json (metrics.json in older folders); checkpoints and models are not needed) or its
// leaderboard.json. The sweep replays its decisions from those records, so no finished rung is trained again; a
// trial promoted later has no checkpoint here and trains again from epoch 1 (seeded: the same numbers on the
// same backend and threads) up to its new rung.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SpecError } from '../job/spec.js';

/** The small files of a trial folder that carry its results (what `--from` copies, and what docs keep). */
export const TRIAL_RECORD_FILES = ['trial.json', 'history.json', 'config.json', 'result.json', 'test-curve.json', 'metrics.json'] as const;

/** What {@link importTrials} did. */
export interface ImportedTrials {
  /** Keys of the trials taken from the record. */
  imported: string[];
  /** Keys already in the output folder (left as they are). */
  present: string[];
  /** Where the record came from, for the log. */
  source: string;
}

interface RecordRow {
  key?: unknown;
  hash?: unknown;
  sets?: unknown;
  accuracy?: unknown;
  status?: unknown;
  error?: unknown;
  config?: { model?: Record<string, unknown>; train?: Record<string, unknown>; modelScale?: number } | null;
}

/**
 * Copies into `<out>/trials/` the trials of a sweep record that `out` does not have yet. `from` is a sweep folder
 * (with trials/) or a leaderboard.json. Every recorded trial is copied under its key (the hash of model, preset,
 * data path, config file and overrides); the sweep looks trials up by key, so only those of this very sweep are used.
 * @example
 * await importTrials('docs/results/sweep-shallow', 'runs/sweep-shallow', { model: 'paper-shallow' });
 */
export async function importTrials(from: string, out: string, o: { model: string }): Promise<ImportedTrials> {
  const imported: string[] = [];
  const present: string[] = [];
  const has = (key: string) => existsSync(join(out, 'trials', key, 'history.json')) || existsSync(join(out, 'trials', key, 'trial.json'));
  if (!existsSync(from)) throw new SpecError('E_BAD_OPTION', `--from ${from}: no such file or folder; expected a sweep folder (with trials/) or its leaderboard.json.`);
  const isBoard = from.endsWith('.json');
  const boardFile = isBoard ? from : join(from, 'leaderboard.json');
  let board: { model?: unknown; trials?: RecordRow[] } | null = null;
  if (existsSync(boardFile)) {
    try {
      board = JSON.parse(await readFile(boardFile, 'utf8')) as { model?: unknown; trials?: RecordRow[] };
    } catch (e) {
      throw new SpecError('E_BAD_OPTION', `--from ${boardFile}: not valid JSON (${(e as Error).message}); expected a leaderboard.json written by fer sweep.`);
    }
    if (board.model !== undefined && board.model !== o.model) throw new SpecError('E_BAD_OPTION', `--from ${boardFile} is a sweep of ${JSON.stringify(board.model)}, this one is of ${JSON.stringify(o.model)}; expected a record of the same model.`);
  } else if (isBoard) throw new SpecError('E_BAD_OPTION', `--from ${from}: no such file.`);

  // 1. A folder's own trial files (exact: the histories as training wrote them).
  const trialsDir = join(from, 'trials');
  if (!isBoard && existsSync(trialsDir)) {
    for (const key of (await readdir(trialsDir)).sort()) {
      if (!/^[0-9a-f]{6,64}$/.test(key) || !existsSync(join(trialsDir, key, 'history.json'))) continue;
      if (has(key)) { present.push(key); continue; }
      await mkdir(join(out, 'trials', key), { recursive: true });
      for (const f of TRIAL_RECORD_FILES) if (existsSync(join(trialsDir, key, f))) await copyFile(join(trialsDir, key, f), join(out, 'trials', key, f));
      imported.push(key);
    }
  }
  // 2. The leaderboard's rows (PublicTest per epoch only) for trials not found as folders.
  for (const row of board?.trials ?? []) {
    if (typeof row.key !== 'string' || !/^[0-9a-f]{6,64}$/.test(row.key) || !Array.isArray(row.accuracy) || !row.accuracy.length) continue;
    if (imported.includes(row.key) || present.includes(row.key)) continue;
    if (has(row.key)) { present.push(row.key); continue; }
    if (!row.accuracy.every((a) => a === null || (typeof a === 'number' && a >= 0 && a <= 1))) throw new SpecError('E_BAD_OPTION', `--from ${boardFile}: trial ${row.key} has accuracies that are not numbers in [0, 1]; expected a leaderboard.json written by fer sweep.`);
    const dir = join(out, 'trials', row.key);
    await mkdir(dir, { recursive: true });
    // Only valAccuracy is known; the other fields are null, and `imported` says where the epochs were measured.
    const history = (row.accuracy as (number | null)[]).map((a, e) => ({ epoch: e + 1, loss: null, accuracy: null, valLoss: null, valAccuracy: a, lr: null, seconds: null, imported: boardFile }));
    await writeFile(join(dir, 'history.json'), `${JSON.stringify(history, null, 2)}\n`);
    await writeFile(join(dir, 'trial.json'), `${JSON.stringify({ key: row.key, model: o.model, sets: row.sets ?? [], imported: boardFile, ...(row.status === 'failed' && typeof row.error === 'string' ? { failed: row.error } : {}) }, null, 2)}\n`);
    if (row.config?.model && row.config.train) await writeFile(join(dir, 'config.json'), `${JSON.stringify({ hash: row.hash ?? null, model: { config: row.config.model }, spec: row.config.train, modelScale: row.config.modelScale ?? 1, imported: boardFile }, null, 2)}\n`);
    imported.push(row.key);
  }
  return { imported, present, source: from };
}
