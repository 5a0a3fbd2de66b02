// The trial loop of a sweep (`fer sweep`, the `sweep` experiment of `pnpm reproduce`, the queue's sweep jobs):
// trials drawn by a sampler, each a `fer train` job (../job/) in <out>/trials/<key> (key = hash of its config),
// trained with its full schedule and paused at ASHA's rungs (`stopAfterEpoch`), so a promoted trial continues
// bit-exactly; a stopped sweep is continued by the same command: the scheduler replays its decisions against the
// trials' results on disk. Ranked by PublicTest accuracy; PrivateTest is never read.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable, renderPng } from '@fer/metrics';
import type { EpochRecord } from '@fer/models';
import { dataPath, userPath } from '../data.js';
import { formatSeconds } from '../format.js';
import { jobFinished } from '../job/execute.js';
import { hashConfig } from '../job/hash.js';
import { parseOverrides } from '../job/overrides.js';
import { resolveTrainJob } from '../job/resolve.js';
import { DEFAULTS, SpecError } from '../job/spec.js';
import { createStopControl, type StopControl } from '../job/stop.js';
import { loadProject } from '../project.js';
import { ASHA_ETA, ashaLevels, expectedEpochsPerTrial, runAsha, scoreAt, type AshaEvent, type TrialOutcome } from './asha.js';
import { accuracyVsParamSpec, figureName, sweepCurvesSpec } from './figures.js';
import { importTrials } from './import.js';
import type { SpaceAxis, TrialSets } from './space.js';

/** Error codes a trial fails with because of its config (the failure is a result: kept, not retried). */
const CONFIG_FAILURES = new Set(['E_NON_FINITE_LOSS', 'E_DIVERGED', 'E_BAD_OPTION']);

/** One training run of a trial: train `sets` into `dir` until `stopAfterEpoch` (undefined = to the end). */
export interface TrialRun {
  /** The trial's folder name (hash of its config). */
  key: string;
  dir: string;
  /** Every `--set` of the run: the sweep's, then the trial's. */
  sets: string[];
  /** Pause after this epoch of the full schedule (an ASHA rung); undefined = train to the end. */
  stopAfterEpoch: number | undefined;
  /** Graceful stop of the sweep (--hours, Ctrl-C): end at the next step with a checkpoint. */
  stop: AbortSignal;
  log: (line: string) => void;
  /** Call after every training step (the --hours clock). */
  onStep: () => void;
}

/** Makes the trial runner of a sweep from its options (the harness's commands give theirs: `fer train` in-process). */
export type TrialRunnerFactory = (o: RunSweepOptions) => TrialRunner;

/** Runs one trial's training (resuming from its checkpoints); the results are read from its folder afterwards. */
export type TrialRunner = (run: TrialRun) => Promise<void>;

/** A leaderboard row: one trial. */
export interface LeaderboardRow {
  rank: number;
  /** Start order (0-based). */
  trial: number;
  /** Folder name under trials/ (hash of the trial's config). */
  key: string;
  /** The fer train job hash (config.json), when the trial started. */
  hash: string | null;
  sets: string[];
  /** The trial's resolved run (from its config.json): model config, train spec, width scale; null before it started. */
  config: { model: Record<string, unknown>; train: Record<string, unknown>; modelScale: number } | null;
  /** The trial's values of the searched keys. */
  params: Record<string, string>;
  /** Highest level reached (0-based index into `levels`), -1 if none. */
  rung: number;
  /** Epochs of the full schedule trained. */
  epochs: number;
  /** Best PublicTest accuracy over the epochs trained. */
  publicTest: number | null;
  bestEpoch: number | null;
  /** PublicTest accuracy after each epoch. */
  accuracy: (number | null)[];
  /** done: trained to the end; paused: cut by ASHA at its rung; stopped: interrupted (--hours), continues; failed. */
  status: 'done' | 'paused' | 'stopped' | 'failed';
  error?: string;
}

/** Options of {@link runSweep}. */
export interface RunSweepOptions {
  model: string;
  data?: string;
  /** fer train --preset of every trial (default paper). */
  preset?: string;
  /** A fer.config file registering user models. */
  config?: string;
  backend?: string;
  out: string;
  /** Overrides shared by every trial (before the trial's own). */
  baseSets?: string[];
  /** The i-th trial's overrides, or null when there are no more (a grid's end). */
  sample: (i: number) => TrialSets | null;
  /** Most trials to start. */
  trials: number;
  /** The searched axes (leaderboard columns, figures); default: the keys of the trials' overrides. */
  axes?: SpaceAxis[];
  /** ASHA: first rung and reduction factor; undefined = every trial trains the full schedule. */
  asha?: { minEpochs: number; eta?: number };
  /** Epochs of the full schedule (R); default the preset's. */
  maxEpochs?: number;
  /** Stop once this many epochs were trained over all trials. */
  epochBudget?: number;
  /** Trials trained at once (default 1: in this process; more: `fer train` child processes). */
  parallel?: number;
  /** Stop cleanly after this many hours (at the next training step); the same command continues. */
  hours?: number;
  /** An outside stop (tests; the CLI's Ctrl-C handling goes through {@link createStopControl}). */
  signal?: AbortSignal;
  /** Handle SIGINT / SIGTERM (the CLI). */
  handleSignals?: boolean;
  /** Clock of --hours in seconds (tests). */
  clock?: () => number;
  /** Called after every training step and before every decision (an outer --hours clock: pnpm reproduce). */
  check?: () => void;
  /** Trains a trial; default: a `fer train` child process (`fer sweep` passes its in-process runner when --parallel is 1). */
  runTrial?: TrialRunner;
  /** The command that continues this sweep (printed when it stops early). */
  continueWith?: string;
  /** A record of this sweep from elsewhere (a sweep folder or its leaderboard.json): trials missing in `out` take their epochs from it. */
  from?: string;
  log?: (line: string) => void;
}

/** What {@link runSweep} returns. */
export interface SweepResult {
  rows: LeaderboardRow[];
  /** The epochs of each level (the last = the full schedule). */
  levels: number[];
  /** Stopped early (--hours, Ctrl-C, signal); the same command continues. */
  stopped: boolean;
}

/**
 * Runs a sweep: trials drawn by `sample`, each trained by `runTrial` into `<out>/trials/<key>` (cached by config
 * hash: a trial trained before answers from its folder), cut by ASHA when `asha` is given, and ranked by PublicTest
 * accuracy into `<out>/leaderboard.json` and `<out>/leaderboard.md`.
 * @example
 * const { rows } = await runSweep({ model: 'paper-shallow', out: 'runs/sweep', trials: 24, sample: randomSampler(parseSpace(['lr=log:1e-5..1e-3']), 1), asha: { minEpochs: 1 } });
 */
export async function runSweep(o: RunSweepOptions): Promise<SweepResult> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const preset = o.preset ?? 'paper';
  const { registry } = await loadProject({ config: o.config });
  registry.get(o.model);
  if (!(Number.isInteger(o.trials) && o.trials >= 1)) throw new SpecError('E_BAD_OPTION', `--trials ${o.trials}: expected a positive integer (the most trials to start).`);
  const baseSets = [...(o.baseSets ?? []), ...(o.maxEpochs !== undefined ? [`epochs=${o.maxEpochs}`] : [])];
  // Check every override (and the first trial's) before anything trains; read the full schedule's epochs.
  const first = o.sample(0);
  const probe = resolveTrainJob({ model: o.model, preset, sets: [...baseSets, ...(first ?? [])], data: { id: '-', fingerprint: '-', source: '-', synthetic: true }, registry });
  const maxEpochs = probe.train.epochs;
  const eta = o.asha?.eta ?? ASHA_ETA;
  const levels = o.asha ? ashaLevels({ minEpochs: o.asha.minEpochs, maxEpochs, eta }) : [maxEpochs];
  const out = o.out;
  await mkdir(join(out, 'trials'), { recursive: true });
  if (o.from) {
    const r = await importTrials(o.from, out, { model: o.model });
    log(`[sweep] --from ${r.source}: ${r.imported.length} trial(s) taken from there${r.present.length ? `, ${r.present.length} already in ${out} (kept)` : ''}; their recorded epochs are not trained again (a trial promoted later retrains from epoch 1: the record has no checkpoints)`);
  }
  const data = dataPath(o.data) ?? 'synthetic';
  const keyOf = (sets: string[]) => hashConfig({ model: o.model, preset, data, config: o.config ? userPath(o.config) : null, sets: parseOverrides([...baseSets, ...sets], DEFAULTS) });
  await writeFile(join(out, 'sweep.json'), `${JSON.stringify({
    model: o.model, data, preset, config: o.config ?? null, baseSets, trials: o.trials, axes: o.axes ?? null,
    asha: o.asha ? { minEpochs: o.asha.minEpochs, eta, levels } : null, maxEpochs, epochBudget: o.epochBudget ?? null, continueWith: o.continueWith ?? null,
  }, null, 2)}\n`);
  const stop: StopControl = createStopControl({ hours: o.hours, handleSignals: o.handleSignals, signal: o.signal, clock: o.clock, log });
  const runTrial = o.runTrial ?? childRunner(o, preset);
  const t0 = performance.now();
  const speed = { epochs: 0, seconds: 0 };
  const expectedEpochs = o.trials * expectedEpochsPerTrial(levels, eta);
  /** Epochs on disk per trial (cached ones count: the ETA is about what is left). */
  const epochsOf = new Map<number, number>();
  const allEpochs = () => [...epochsOf.values()].reduce((a, b) => a + b, 0);
  const label = (i: number, sets: string[]) => `trial ${i + 1} (${sets.join(' ') || 'defaults'})`;
  const etaText = () => {
    const done = allEpochs();
    const left = Math.max(0, expectedEpochs - done);
    const per = speed.epochs ? speed.seconds / speed.epochs : NaN;
    return `${done} epochs trained of ~${Math.round(expectedEpochs)} expected, ${formatSeconds((performance.now() - t0) / 1000)} elapsed${Number.isFinite(per) ? `, ETA ~${formatSeconds(left * per)}` : ''}`;
  };
  const bestLine = (trials: { accuracy: (number | null)[] }[]) => {
    let best = -Infinity, at = -1;
    trials.forEach((t, i) => { const s = scoreAt(t, Infinity); if (s > best) { best = s; at = i; } });
    return at < 0 ? '' : `; best so far: trial ${at + 1}, PublicTest ${(best * 100).toFixed(2)}%`;
  };
  const seen: { accuracy: (number | null)[] }[] = [];
  const errors = new Map<number, string>();
  const run = async (i: number, sets: TrialSets, epochs: number): Promise<TrialOutcome> => {
    const key = keyOf(sets);
    const dir = join(out, 'trials', key);
    const rec = await readTrial(dir);
    epochsOf.set(i, rec.accuracy.length);
    if (rec.failed) return { accuracy: rec.accuracy, status: 'failed', error: rec.failed };
    if (rec.finished || rec.accuracy.length >= epochs) return { accuracy: rec.accuracy, status: 'ok' };
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'trial.json'), `${JSON.stringify({ key, model: o.model, preset, data, sets: [...baseSets, ...sets] }, null, 2)}\n`);
    let mark = performance.now();
    const trialLog = (line: string) => {
      const m = /^epoch (\d+):/.exec(line);
      if (m) {
        epochsOf.set(i, Number(m[1]));
        speed.epochs++;
        // NOTE: the epoch's own time as fer train reports it, where the line has it: an epoch continued from a
        // checkpoint took only its remainder in this process, and counting that as a whole epoch made the ETA
        // several times too short after every stop and continue.
        speed.seconds += epochSeconds(line) ?? (performance.now() - mark) / 1000;
        mark = performance.now();
        log(`[trial ${i + 1}] epoch ${m[1]}/${epochs}${epochs < maxEpochs ? ` (rung; of ${maxEpochs})` : ''}: ${line.slice(m[0].length).trim()} | sweep: ${etaText()}`);
      } else if (!/^(backend|training|SYNTHETIC|paused after epoch|Stopped on request|Continue exactly|\(This run stopped|note: this run is long)/.test(line)) log(`[trial ${i + 1}] ${line}`);
      // NOTE: fer train's own stop and continue lines are left out: the sweep prints the command that continues the sweep.
    };
    let failure: { message: string; code?: string } | null = null;
    try {
      await runTrial({ key, dir, sets: [...baseSets, ...sets], stopAfterEpoch: epochs < maxEpochs ? epochs : undefined, stop: stop.signal, log: trialLog, onStep: () => { o.check?.(); stop.check(); } });
    } catch (e) {
      failure = { message: (e as Error).message ?? String(e), code: (e as { code?: string }).code };
    }
    const after = await readTrial(dir);
    epochsOf.set(i, after.accuracy.length);
    await pruneCheckpoints(dir, after.finished);
    if (failure) {
      if (failure.code && CONFIG_FAILURES.has(failure.code)) {
        await writeFile(join(dir, 'trial.json'), `${JSON.stringify({ key, model: o.model, preset, data, sets: [...baseSets, ...sets], failed: `${failure.code}: ${failure.message}` }, null, 2)}\n`);
      } else errors.set(i, failure.message);
      return { accuracy: after.accuracy, status: 'failed', error: failure.code ? `${failure.code}: ${failure.message}` : failure.message };
    }
    if (after.finished || after.accuracy.length >= epochs) return { accuracy: after.accuracy, status: 'ok' };
    if (stop.signal.aborted) return { accuracy: after.accuracy, status: 'stopped' };
    return { accuracy: after.accuracy, status: 'failed', error: `trained ${after.accuracy.length} of the ${epochs} epochs asked and gave no reason (see ${join(dir, 'train.log')})` };
  };
  const configs: TrialSets[] = [];
  const onEvent = (e: AshaEvent) => {
    const sets = configs[e.trial];
    if (e.kind === 'start') log(`[sweep] start ${label(e.trial, sets)} -> ${e.epochs} epoch${e.epochs > 1 ? 's' : ''}`);
    else if (e.kind === 'promote') log(`[sweep] promote trial ${e.trial + 1} to rung ${e.level} -> ${e.epochs} epochs`);
    else if (e.kind === 'finish') {
      seen[e.trial] = { accuracy: e.outcome.accuracy };
      const acc = scoreAt({ accuracy: e.outcome.accuracy }, e.epochs);
      const what = e.outcome.status === 'ok' ? `PublicTest ${Number.isFinite(acc) ? `${(acc * 100).toFixed(2)}%` : 'n/a'} (best of ${Math.min(e.epochs, e.outcome.accuracy.length)} epochs)` : e.outcome.status === 'stopped' ? 'stopped (continues on the next run)' : `FAILED: ${e.outcome.error?.slice(0, 300)}`;
      log(`[sweep] trial ${e.trial + 1} at ${e.epochs} epoch${e.epochs > 1 ? 's' : ''}: ${what}${bestLine(seen)} | ${etaText()} | rss ${(process.memoryUsage().rss / 2 ** 30).toFixed(2)} GiB`);
    }
  };
  const sample = (i: number) => {
    const s = o.sample(i);
    if (s) configs[i] = s;
    return s;
  };
  log(`[sweep] ${o.model} (preset ${preset}), ${o.trials} trials at most, ${o.asha ? `ASHA: rungs at ${levels.join(', ')} epochs (eta ${eta}), keep the top 1/${eta}` : `each trained ${maxEpochs} epochs`}; ranked by PublicTest (PrivateTest is never read); results in ${out}`);
  let result;
  try {
    result = await runAsha({
      levels, eta, trials: o.trials, sample, run, parallel: o.parallel ?? 1, epochBudget: o.epochBudget, onEvent,
      shouldStop: () => { o.check?.(); stop.check(); return stop.signal.aborted; },
    });
  } finally {
    stop.dispose();
  }
  const rows = await leaderboard(out, result.trials.map((t, i) => ({ ...t, sets: configs[i], key: keyOf(configs[i]), error: t.error ?? errors.get(i) })), levels, o.axes);
  const figures = await drawFigures(out, o.model, rows, o.axes, log);
  await writeLeaderboard(out, { model: o.model, preset, data, levels, eta, asha: Boolean(o.asha), rows, axes: o.axes, stopped: result.stopped, continueWith: o.continueWith, figures });
  if (result.stopped) log(`[sweep] stopped${stop.reason ? ` (${stop.reason})` : ''} after ${formatSeconds((performance.now() - t0) / 1000)}; ${rows.length} trials so far. Continue with:\n  ${o.continueWith ?? 'the same command'}`);
  else log(`[sweep] done: ${rows.length} trials, ${speed.epochs} epochs trained in this run (${formatSeconds((performance.now() - t0) / 1000)}).`);
  return { rows, levels, stopped: result.stopped };
}

// --- the trials' results on disk ---

/** A trial folder's state: PublicTest accuracy per epoch, finished (result.json; metrics.json in older folders), failed (trial.json). */
/**
 * The epoch's time at the end of a fer train epoch line, `(5m01s)`, `(1h02m03s)` or `(42s)` (formatSeconds'
 * forms), in seconds; undefined when the line does not end with one.
 */
export function epochSeconds(line: string): number | undefined {
  const m = /\((?:(\d+)h)?(?:(\d+)m)?(\d+)s\)\s*$/.exec(line);
  return m ? Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3]) : undefined;
}

async function readTrial(dir: string): Promise<{ accuracy: (number | null)[]; finished: boolean; failed: string | null; hash: string | null; config: LeaderboardRow['config'] }> {
  const json = async <T>(f: string): Promise<T | null> => {
    try {
      return JSON.parse(await readFile(join(dir, f), 'utf8')) as T;
    } catch {
      return null;
    }
  };
  const history = (await json<EpochRecord[]>('history.json')) ?? [];
  const trial = await json<{ failed?: string }>('trial.json');
  const config = await json<{ hash?: string; model?: { config?: Record<string, unknown> }; spec?: Record<string, unknown>; modelScale?: number }>('config.json');
  const resolved = config?.model?.config && config.spec ? { model: config.model.config, train: config.spec, modelScale: config.modelScale ?? 1 } : null;
  return { accuracy: history.map((h) => h.valAccuracy), finished: jobFinished(dir), failed: trial?.failed ?? null, hash: config?.hash ?? null, config: resolved };
}

/** Keeps the newest epoch checkpoint of a paused trial (and a mid-epoch one); a finished trial keeps none (its model/ is saved). */
async function pruneCheckpoints(dir: string, finished: boolean): Promise<void> {
  const ck = join(dir, 'checkpoints');
  if (!existsSync(ck)) return;
  if (finished) {
    await rm(ck, { recursive: true, force: true });
    return;
  }
  const epochs = (await readdir(ck)).filter((f) => /^ckpt-\d+\.ferckpt$/.test(f)).sort();
  for (const f of epochs.slice(0, -1)) await rm(join(ck, f), { force: true });
}

async function leaderboard(out: string, trials: { sets: TrialSets; key: string; level: number; failed: boolean; stopped: boolean; running: number | null; error?: string }[], levels: number[], axes?: SpaceAxis[]): Promise<LeaderboardRow[]> {
  const rows: LeaderboardRow[] = [];
  for (const [i, t] of trials.entries()) {
    const rec = await readTrial(join(out, 'trials', t.key));
    const params = Object.fromEntries(t.sets.map((s) => [s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1)]));
    for (const a of axes ?? []) params[a.key] ??= '';
    let best = -Infinity, bestEpoch: number | null = null;
    rec.accuracy.forEach((a, e) => { if (a !== null && a > best) { best = a; bestEpoch = e + 1; } });
    const reached = rec.accuracy.length >= levels[levels.length - 1] || rec.finished;
    rows.push({
      rank: 0, trial: i, key: t.key, hash: rec.hash, sets: t.sets, config: rec.config, params,
      rung: t.failed ? t.level : levels.reduce((k, l, j) => (rec.accuracy.length >= l ? j : k), -1),
      epochs: rec.accuracy.length, publicTest: bestEpoch === null ? null : best, bestEpoch, accuracy: rec.accuracy,
      status: t.failed ? 'failed' : reached ? 'done' : t.stopped ? 'stopped' : 'paused',
      ...(t.failed && t.error ? { error: t.error } : {}),
    });
  }
  // ASHA's answer: the highest rung first, then PublicTest; failed last
  rows.sort((a, b) => Number(a.status === 'failed') - Number(b.status === 'failed') || b.rung - a.rung || (b.publicTest ?? -1) - (a.publicTest ?? -1) || a.trial - b.trial);
  rows.forEach((r, i) => (r.rank = i + 1));
  return rows;
}

/**
 * figures/curves.png and figures/accuracy-vs-<key>.png (small PNGs); returns their paths relative to `out`. A figure
 * that cannot be drawn is reported through `log` and skipped: the leaderboard is written anyway.
 */
async function drawFigures(out: string, model: string, rows: LeaderboardRow[], axes: SpaceAxis[] | undefined, log: (line: string) => void): Promise<string[]> {
  const withData = rows.filter((r) => r.accuracy.some((a) => a !== null));
  if (withData.length === 0) return [];
  const keys = axes?.length ? axes : [...new Set(rows.flatMap((r) => Object.keys(r.params)))].map((key): SpaceAxis => ({ key, kind: 'choice', values: [...new Set(rows.map((r) => r.params[key]).filter((v) => v !== undefined))] }));
  const specs = [
    { file: 'curves.png', spec: sweepCurvesSpec(withData, model) },
    ...keys.map((a) => ({ file: figureName(a.key), spec: accuracyVsParamSpec(withData, a, model) })),
  ];
  await mkdir(join(out, 'figures'), { recursive: true });
  const written: string[] = [];
  for (const { file, spec } of specs) {
    try {
      await writeFile(join(out, 'figures', file), await renderPng(spec, { scale: 1.5 }));
      written.push(`figures/${file}`);
    } catch (e) {
      log(`[sweep] warning: figure ${file} not drawn: ${(e as Error).message}`);
    }
  }
  return written;
}

async function writeLeaderboard(out: string, s: { model: string; preset: string; data: string; levels: number[]; eta: number; asha: boolean; rows: LeaderboardRow[]; axes?: SpaceAxis[]; stopped: boolean; continueWith?: string; figures: string[] }): Promise<void> {
  const keys = s.axes?.length ? s.axes.map((a) => a.key) : [...new Set(s.rows.flatMap((r) => Object.keys(r.params)))];
  const winner = s.rows.find((r) => r.status === 'done') ?? null;
  const json = {
    model: s.model, preset: s.preset, data: s.data, selection: 'PublicTest (validation); PrivateTest is never read by the sweep',
    scheduler: s.asha ? { kind: 'asha', levels: s.levels, eta: s.eta } : { kind: 'full', epochs: s.levels[0] },
    stopped: s.stopped, figures: s.figures, winner: winner ? { trial: winner.trial, key: winner.key, hash: winner.hash, sets: winner.sets, publicTest: winner.publicTest, bestEpoch: winner.bestEpoch } : null,
    trials: s.rows,
  };
  await writeFile(join(out, 'leaderboard.json'), `${JSON.stringify(json, null, 2)}\n`);
  const pct = (v: number | null) => (v === null ? null : `${(v * 100).toFixed(2)}%`);
  const md = markdownTable({
    header: ['rank', 'trial', ...keys, 'epochs', 'PublicTest (best)', 'best epoch', 'status', 'job hash'],
    rows: s.rows.map((r) => [r.rank, r.trial + 1, ...keys.map((k) => r.params[k] ?? ''), r.epochs, pct(r.publicTest), r.bestEpoch, r.status === 'failed' ? `failed: ${(r.error ?? '').slice(0, 80)}` : r.status, r.hash ?? r.key]),
  });
  const lines = [
    `# Sweep of ${s.model}`, '',
    `Data: ${s.data}; preset ${s.preset}. Ranked by PublicTest (validation) accuracy, the best epoch of each trial; PrivateTest is never read here.`,
    s.asha ? `ASHA (Li et al. 2018): rungs at ${s.levels.join(', ')} epochs, eta ${s.eta}: at each rung only the top 1/${s.eta} go on. Rows rank by the rung reached, then PublicTest.` : `Every trial trains ${s.levels[0]} epochs.`,
    '',
    winner ? `Winner: trial ${winner.trial + 1} (${winner.sets.join(' ')}), PublicTest ${pct(winner.publicTest)} at epoch ${winner.bestEpoch}, job hash ${winner.hash}, folder trials/${winner.key}.` : 'No trial has trained the full schedule yet.',
    ...(s.stopped ? ['', `Stopped early; continue with: \`${s.continueWith ?? 'the same command'}\``] : []),
    '', md, '',
    ...s.figures.map((f) => `![${f}](${f})`),
    ...(s.figures.length ? [''] : []),
  ];
  await writeFile(join(out, 'leaderboard.md'), lines.join('\n'));
}

// --- trial runners ---

/** Each trial a `fer train` child process (--parallel > 1). A stop ends the child (SIGTERM); it resumes from its last epoch. */
export function childRunner(o: RunSweepOptions, preset: string): TrialRunner {
  const here = dirname(fileURLToPath(import.meta.url));
  const cli = join(here, '..', 'cli.ts');
  return (t) => {
    const args = ['--conditions=@fer/source', '--import', 'tsx', cli, 'train', '--model', o.model, '--out', t.dir, '--backend', o.backend ?? 'auto', '--preset', preset, '--resume', '--withhold-test'];
    if (o.data) args.push('--data', o.data);
    if (o.config) args.push('--config', userPath(o.config));
    for (const s of t.sets) args.push('--set', s);
    if (t.stopAfterEpoch !== undefined) args.push('--stop-after-epoch', String(t.stopAfterEpoch));
    return new Promise((res, rej) => {
      const child = spawn(process.execPath, args, { cwd: resolve(here, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] });
      const onStop = () => child.kill('SIGTERM');
      t.stop.addEventListener('abort', onStop, { once: true });
      let tail = '', partial = '';
      const keep = (d: Buffer) => {
        tail = (tail + d.toString()).slice(-4000);
        partial += d.toString();
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) if (/^epoch \d+:|^warning/.test(l)) t.log(l);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('error', rej);
      child.on('exit', (code) => {
        t.stop.removeEventListener('abort', onStop);
        void writeFile(join(t.dir, 'train.log'), tail).catch(() => undefined);
        if (code === 0 || t.stop.aborted) res();
        else {
          const m = /error (E_[A-Z_]+)/.exec(tail);
          rej(Object.assign(new Error(`fer train exited ${code}: ${tail.slice(-600)}`), m ? { code: m[1] } : {}));
        }
      });
    });
  };
}
