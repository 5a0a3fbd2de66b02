// Stopping a long `pnpm reproduce` on purpose: `--hours H` (a budget clock checked after every training
// step) and SIGINT / SIGTERM. Either one aborts `stop.signal`; @fer/models' train() then stops at the next
// step boundary and writes a mid-epoch checkpoint, the run writes the report of everything so far, and
// re-running the same command continues exactly.
import type { StepperFactory } from '@fer/models';

/** Why a run stopped early. */
export type StopReason = 'hours' | 'SIGINT' | 'SIGTERM' | 'signal';

export interface StopControl {
  /** Aborted once a stop was requested (hand it to train() as `stop`). */
  readonly signal: AbortSignal;
  /** Why it stopped, or null while running. */
  readonly reason: StopReason | null;
  /** Checks the budget clock; call after every step and between jobs. */
  check(): void;
  /** Removes the signal handlers. */
  dispose(): void;
}

export interface StopOptions {
  /** Stop once this many hours of wall time (from now) are spent; undefined = no limit. */
  hours?: number;
  /** Seconds since some origin; default `performance.now() / 1000`. Tests pass a step counter so the stop is deterministic. */
  clock?: () => number;
  /** Handle SIGINT / SIGTERM (the CLI; tests leave it off). */
  handleSignals?: boolean;
  /** An outside stop (tests, embedding programs). */
  signal?: AbortSignal;
  /** Where the "stopping..." line goes. */
  log?: (line: string) => void;
  /** What is written after the stop, for that line (default: 'a checkpoint and the report so far'). */
  writes?: string;
}

/**
 * @example
 * const stop = createStopControl({ hours: 2, handleSignals: true });
 * await train({ ..., stop: stop.signal, onProgress: () => stop.check() });
 */
export function createStopControl(opts: StopOptions = {}): StopControl {
  if (opts.hours !== undefined && !(Number.isFinite(opts.hours) && opts.hours > 0)) {
    throw new RangeError(`--hours ${opts.hours}: expected a positive number of hours (e.g. 2 or 0.5).`);
  }
  const clock = opts.clock ?? (() => performance.now() / 1000);
  const deadline = opts.hours === undefined ? Infinity : clock() + opts.hours * 3600;
  const ac = new AbortController();
  let reason: StopReason | null = null;
  const stop = (why: StopReason) => {
    if (reason) return;
    reason = why;
    ac.abort(why);
  };
  const handlers: [NodeJS.Signals, () => void][] = [];
  if (opts.handleSignals) {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const h = () => {
        if (reason) {
          // NOTE: a second Ctrl-C quits at once (the mid-epoch checkpoint may be lost; the last epoch's is kept).
          opts.log?.(`${sig} again: quitting now${opts.writes ? '' : ', without the report'} (the last completed epoch's checkpoint is kept).`);
          process.exit(130);
        }
        opts.log?.(`${sig}: stopping after the current training step, then writing ${opts.writes ?? 'a checkpoint and the report so far'} (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again quits at once).`);
        stop(sig);
      };
      process.on(sig, h);
      handlers.push([sig, h]);
    }
  }
  if (opts.signal) {
    if (opts.signal.aborted) stop('signal');
    else opts.signal.addEventListener('abort', () => stop('signal'), { once: true });
  }
  return {
    signal: ac.signal,
    get reason() { return reason; },
    check() {
      if (!reason && clock() >= deadline) stop('hours');
    },
    dispose() {
      for (const [sig, h] of handlers) process.off(sig, h);
    },
  };
}

/** The options that identify a run, as given on the command line (what the continue command repeats). */
export interface RunArgs {
  data?: string;
  budget: string;
  seeds: number;
  backend: string;
  workers: number;
  only?: readonly string[];
  out: string;
  set?: readonly string[];
  hours?: number;
  keepCheckpoints?: boolean;
  /** reproduce --queue URL (a password in it is shown as ***). */
  queue?: string;
  /** --skip-bad-rows, --drop-test-duplicates, --split-seed N as typed (../data.ts dataFlagsArgv). */
  dataArgs?: readonly string[];
}

const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * The one command that continues (or repeats) a run: same data, budget, seeds, experiments and output folder.
 * @example
 * continueCommand({ budget: 'paper', seeds: 1, backend: 'auto', workers: 1, out: '/runs/p', data: 'fer2013.csv', hours: 2 })
 * // "pnpm reproduce --data fer2013.csv --preset paper --out /runs/p --hours 2"
 */
export function continueCommand(a: RunArgs): string {
  const parts = ['pnpm reproduce'];
  if (a.data) parts.push('--data', quote(a.data));
  parts.push(...(a.dataArgs ?? []).map(quote));
  parts.push('--preset', a.budget);
  if (a.seeds !== 1) parts.push('--seeds', String(a.seeds));
  if (a.backend !== 'auto') parts.push('--backend', a.backend);
  if (a.workers !== 1) parts.push('--workers', String(a.workers));
  if (a.only && a.only.length) parts.push('--only', a.only.join(','));
  for (const s of a.set ?? []) parts.push('--set', quote(s));
  parts.push('--out', quote(a.out));
  if (a.hours !== undefined) parts.push('--hours', String(a.hours));
  if (a.keepCheckpoints) parts.push('--keep-checkpoints');
  if (a.queue) parts.push('--queue', quote(a.queue.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')));
  return parts.join(' ');
}

/**
 * Test hook (runTrain / reproduce `holdAfterSteps`): the run's N-th training step does not return until a stop
 * is requested, so a test can send SIGINT mid-job at a known point without racing the clock.
 */
export function holdAfterSteps(factory: StepperFactory, after: number, signal: AbortSignal, onHold: () => void): StepperFactory {
  let steps = 0;
  return async (a) => {
    const inner = await factory(a);
    return {
      async step(batch, lr) {
        // NOTE: the step starts synchronously (train() seeds Math.random only around this call); the hold comes after it.
        const r = await inner.step(batch, lr);
        if (++steps === after && !signal.aborted) {
          onHold();
          // The interval keeps the event loop alive while nothing else is pending (else Node exits with 13).
          const alive = setInterval(() => {}, 1000);
          await new Promise<void>((res) => signal.addEventListener('abort', () => res(), { once: true }));
          clearInterval(alive);
        }
        return r;
      },
      syncToModel: () => inner.syncToModel(),
      getOptimizerState: () => inner.getOptimizerState(),
      setOptimizerState: (st) => inner.setOptimizerState(st),
      dispose: () => inner.dispose(),
    };
  };
}

/** What `fer train` was given, for {@link trainContinueCommand}. */
export interface TrainRunArgs {
  model: string;
  out: string;
  data?: string;
  preset?: string;
  set?: readonly string[];
  config?: string;
  backend?: string;
  workers?: number;
  threads?: number;
  hours?: number;
  /** --skip-bad-rows, --drop-test-duplicates, --split-seed N as typed. */
  dataArgs?: readonly string[];
}

/**
 * The one command that continues a stopped `fer train` (`--resume` into the same folder, with the same settings).
 * @example
 * trainContinueCommand({ model: 'paper-shallow', out: 'runs/a', data: 'fer2013.csv.gz', hours: 2 })
 * // "pnpm fer train --model paper-shallow --data fer2013.csv.gz --out runs/a --resume --hours 2"
 */
export function trainContinueCommand(a: TrainRunArgs): string {
  const parts = ['pnpm fer train', '--model', quote(a.model)];
  if (a.data) parts.push('--data', quote(a.data));
  if (a.preset && a.preset !== 'paper') parts.push('--preset', a.preset);
  for (const s of a.set ?? []) parts.push('--set', quote(s));
  if (a.config) parts.push('--config', quote(a.config));
  if (a.backend && a.backend !== 'auto') parts.push('--backend', a.backend);
  if (a.workers && a.workers !== 1) parts.push('--workers', String(a.workers));
  if (a.threads) parts.push('--threads', String(a.threads));
  parts.push(...(a.dataArgs ?? []).map(quote));
  parts.push('--out', quote(a.out), '--resume');
  if (a.hours !== undefined) parts.push('--hours', String(a.hours));
  return parts.join(' ');
}
