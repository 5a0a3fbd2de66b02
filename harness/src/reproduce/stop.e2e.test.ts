// Long runs in pieces: a run stopped by `--hours` (a deterministic step-counting clock) and one stopped by
// SIGINT (the CLI, held at a known step by a test hook) each write a partial report and print the command
// that continues; re-running it ends with exactly the numbers of an uninterrupted run. Tiny: two 1/8-width
// paper networks, 160 training rows, 2 epochs (wasm with the native kernels when built: run-to-run deterministic).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reproduce, type ReproduceOptions } from './run.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const tmp = mkdtempSync(join(tmpdir(), 'fer-stop-'));
const SET = ['train.trainLimit=160', 'train.evalLimit=70'];
const base: ReproduceOptions = { budget: 'smoke', only: ['accuracy', 'histories'], set: SET, backend: 'wasm', noWarmup: true, cacheDir: join(tmp, 'cache'), data: 'synthetic' };

interface Results { complete: boolean; stopped: { reason: string; command: string } | null; jobs: { hash: string; status: string; validation: number | null; test: number | null; history: Record<string, number>[] }[]; sections: { verdicts: { ours: { mean: number } }[] }[] }
const results = (out: string) => JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
/** Every number of a run that does not depend on the clock. */
const numbers = (r: Results) => ({
  jobs: r.jobs.map((j) => ({ hash: j.hash, validation: j.validation, test: j.test, history: j.history.map(({ seconds: _s, ...h }) => h) })),
  cells: r.sections.flatMap((s) => s.verdicts.map((v) => v.ours.mean)),
});

let whole: ReturnType<typeof numbers>;
beforeAll(async () => {
  const out = join(tmp, 'whole');
  await reproduce({ ...base, out, log: () => {} });
  whole = numbers(results(out));
  expect(whole.jobs).toHaveLength(2);
  expect(whole.jobs.every((j) => j.history.length === 2 && j.test !== null)).toBe(true);
}, 600_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('pnpm reproduce stopped on purpose', () => {
  it('--hours: stops at a step boundary, writes a partial report, and the same command continues to the uninterrupted result', async () => {
    const out = join(tmp, 'hours');
    // The clock advances one "second" per check (one per training step and per job; 161 rows = 6 steps of 32 per
    // epoch): 8 s = job 1, epoch 2, after step 1.
    let t = 0;
    const lines: string[] = [];
    const first = await reproduce({ ...base, out, hours: 8 / 3600, clock: () => t++, log: (l) => lines.push(l) });
    expect(first.stopped).not.toBeNull();
    expect(first.stopped!.reason).toMatch(/--hours 0.00222\d* spent/);
    expect(first.stopped!.inProgress.map((p) => p.at)).toEqual([{ epoch: 2, step: 1, steps: 6 }]);
    expect(first.stopped!.command).toContain(`--out ${out}`);
    expect(lines.at(-1)).toContain(first.stopped!.command);
    expect(lines).toContain('Continue exactly where it stopped with:\n  ' + first.stopped!.command);
    const partial = results(out);
    expect(partial.complete).toBe(false);
    expect(partial.jobs.map((j) => j.status)).toEqual(['in progress: epoch 2 of 2 (step 1/6)', 'not started']);
    expect(partial.jobs[0].history).toHaveLength(1); // its curve so far
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('PARTIAL REPORT');
    expect(html).toContain('In progress: epoch 2 of 2');
    expect(existsSync(join(out, 'figures', 'histories-shallow.png'))).toBe(true);

    const rest = await reproduce({ ...base, out, log: () => {} });
    expect(rest.stopped).toBeNull();
    expect(numbers(results(out))).toEqual(whole);
    expect(results(out).complete).toBe(true);
  }, 600_000);

  it('a stop before any training still writes a report: every job "not started", and the command that continues', async () => {
    const out = join(tmp, 'early');
    const ac = new AbortController();
    ac.abort();
    const r = await reproduce({ ...base, out, stopSignal: ac.signal, log: () => {} });
    expect(r.stopped).toMatchObject({ reason: 'a stop was requested', inProgress: [] });
    expect(results(out).jobs.map((j) => j.status)).toEqual(['not started', 'not started']);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('PARTIAL REPORT');
  }, 600_000);

  it('SIGINT: the CLI stops cleanly (exit 0), writes the partial report and the continue command; re-running finishes exactly', async () => {
    const out = join(tmp, 'sigint');
    const args = ['--conditions=@fer/source', '--import', 'tsx', 'harness/src/cli.ts', 'reproduce', '--budget', 'smoke', '--only', 'accuracy,histories', '--backend', 'wasm', '--out', out, ...SET.flatMap((s) => ['--set', s])];
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((res, rej) => {
      // The hook holds the run after its 7th step (job 1, epoch 2, step 1) until the stop arrives, so the signal cannot miss the job.
      const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, FER2013_PATH: '', FER_CACHE_DIR: join(tmp, 'cache'), FER_REPRODUCE_TEST_HOLD_AFTER_STEPS: '7' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let so = '', se = '', sent = false;
      child.stdout.on('data', (d) => {
        so += d;
        if (!sent && so.includes('test hook: holding')) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      child.stderr.on('data', (d) => (se += d));
      child.on('error', rej);
      child.on('exit', (c) => (c === 0 ? res({ code: c, stdout: so }) : rej(new Error(`exit ${c}\n${so}\n${se}`))));
    });
    expect(code).toBe(0);
    expect(stdout).toContain('SIGINT: stopping after the current training step');
    expect(stdout).toMatch(/stopped in epoch 2 of 2 \(step 1 of 6\)/);
    expect(stdout).toContain(`Continue exactly where it stopped with:\n  pnpm reproduce --preset smoke --backend wasm --only accuracy,histories --set train.trainLimit=160 --set train.evalLimit=70 --out ${out}`);
    const partial = results(out);
    expect(partial.complete).toBe(false);
    expect(partial.stopped!.reason).toBe('Ctrl-C (SIGINT)');
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('PARTIAL REPORT');

    await reproduce({ ...base, out, log: () => {} });
    expect(numbers(results(out))).toEqual(whole);
  }, 600_000);
});
