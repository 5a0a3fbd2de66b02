// One writer per run folder (issue 22, item 1): `fer train --out` and `pnpm reproduce --out` take the folder's
// lock (src/lock.ts) before touching anything there; a live holder's files are never removed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../lock.js';
import { reproduce } from '../reproduce/run.js';
import { runTrain } from './train.js';

const quiet = () => undefined;
const tiny = ['model.filters=[2,2]', 'model.denseUnits=4', 'epochs=1', 'batch=16', 'limit=32', 'data.validationLimit=16'];
const fresh = () => mkdtempSync(join(tmpdir(), 'fer-train-lock-'));
const fakeLock = (dir: string, pid: number) => { mkdirSync(dir, { recursive: true }); writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, host: hostname(), command: 'fer train', since: '2026-01-01T00:00:00.000Z', token: 'x' })); };

describe('fer train --out: one writer per folder', () => {
  it('a second run started while the first trains is refused with E_FOLDER_LOCKED; the first finishes unmixed', async () => {
    const out = join(fresh(), 'run');
    let second: Promise<unknown> | undefined;
    const first = await runTrain({
      model: 'paper-shallow', data: 'synthetic', out, backend: 'cpu', log: quiet, sets: tiny,
      onProgress: () => { second ??= runTrain({ model: 'paper-shallow', data: 'synthetic', out, backend: 'cpu', log: quiet, onProgress: quiet, sets: [...tiny, 'seed=2'], overwrite: true }).catch((e: unknown) => e); },
    });
    expect(await second).toMatchObject({ code: 'E_FOLDER_LOCKED', message: expect.stringContaining(`is in use by fer train (pid ${process.pid} on host ${hostname()}`) });
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).hash).toBe(first.hash);
    expect(JSON.parse(readFileSync(join(out, 'model', 'fer.json'), 'utf8')).training.job).toBe(first.hash);
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  }, 120_000);

  it('a refused --resume against a folder in use removes none of the live run\'s temp files; a dead holder\'s are removed', async () => {
    const out = join(fresh(), 'run');
    const live = spawn('sleep', ['60']);
    try {
      fakeLock(out, live.pid!);
      const tmpOfLive = join(out, `history.json.tmp-${live.pid}-1700000000000`);
      writeFileSync(tmpOfLive, 'being written');
      await expect(runTrain({ model: 'paper-shallow', data: 'synthetic', out, backend: 'cpu', log: quiet, onProgress: quiet, sets: [...tiny, 'seed=9'], resume: true })).rejects.toMatchObject({ code: 'E_FOLDER_LOCKED' });
      expect(readFileSync(tmpOfLive, 'utf8')).toBe('being written');
      expect(JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8')).pid).toBe(live.pid);
    } finally {
      live.kill();
    }
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
    fakeLock(out, dead);
    const stale = join(out, `history.json.tmp-${dead}-1700000000000`);
    writeFileSync(stale, 'half');
    await runTrain({ model: 'paper-shallow', data: 'synthetic', out, backend: 'cpu', log: quiet, onProgress: quiet, sets: tiny });
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(join(out, 'result.json'))).toBe(true);
  }, 120_000);
});

describe('pnpm reproduce --out: one writer per folder', () => {
  it('a live holder\'s output folder is refused with E_FOLDER_LOCKED before anything is written', async () => {
    const out = join(fresh(), 'results');
    const live = spawn('sleep', ['60']);
    try {
      fakeLock(out, live.pid!);
      await expect(reproduce({ budget: 'smoke', out, data: 'synthetic', backend: 'cpu', only: ['accuracy'], noWarmup: true, dryRun: true, log: quiet, cacheDir: join(out, '..', 'cache') }))
        .rejects.toMatchObject({ code: 'E_FOLDER_LOCKED', message: expect.stringContaining(`${out} is in use by fer train (pid ${live.pid}`) });
      expect(existsSync(join(out, 'jobs'))).toBe(false);
    } finally {
      live.kill();
    }
    await reproduce({ budget: 'smoke', out, data: 'synthetic', backend: 'cpu', only: ['accuracy'], noWarmup: true, dryRun: true, log: quiet, cacheDir: join(out, '..', 'cache') });
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  }, 120_000);
});

describe('fer train: numeric options are range-checked before anything is written', () => {
  it('--workers 0 / -3 / NaN and a negative --set limit are refused; no folder, no config.json', async () => {
    const out = join(fresh(), 'run');
    for (const workers of [0, -3, Number('abc')]) {
      await expect(runTrain({ model: 'paper-shallow', data: 'synthetic', out, backend: 'cpu', log: quiet, onProgress: quiet, sets: tiny, workers })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('--workers') });
    }
    await expect(runTrain({ model: 'paper-shallow', data: 'synthetic', out, backend: 'cpu', log: quiet, onProgress: quiet, sets: [...tiny, 'limit=-5'] })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('train.trainLimit=-5: out of range') });
    expect(existsSync(out)).toBe(false);
  });
});
