import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { epochsDone, estimatePlan, formatBytes, SpeedStore } from './_eta.js';
import type { Job } from './plan.js';
import { reproduce } from './run.js';

describe('the ETA counts the epochs a job folder already holds', () => {
  it('reads checkpoints/ (the job layout) and checkpoint/ (older reproduction folders); none is 0', () => {
    const job = (dir: string, names: string[]) => {
      const d = mkdtempSync(join(tmpdir(), 'fer-eta-'));
      mkdirSync(join(d, dir));
      for (const n of names) writeFileSync(join(d, dir, n), '');
      return d;
    };
    expect(epochsDone(job('checkpoints', ['ckpt-000001.ferckpt', 'ckpt-000002.ferckpt', 'partial.ferckpt']))).toBe(2);
    expect(epochsDone(job('checkpoint', ['ckpt-000003.ferckpt']))).toBe(3);
    expect(epochsDone(job('model', ['ckpt-000004.ferckpt']))).toBe(0);
  });
});

describe('pnpm reproduce --dry-run twice (issue 26: the ETA is stable and the second dry run trains nothing)', () => {
  it('the first dry run times every model and stores it; the second times none and prints the same plan and ETA', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fer-eta-dry-'));
    const cacheDir = mkdtempSync(join(tmpdir(), 'fer-speeds-'));
    const run = async () => {
      const lines: string[] = [];
      await reproduce({ budget: 'smoke', out, data: 'synthetic', backend: process.env.FER_BACKEND ?? 'auto', only: ['accuracy'], dryRun: true, cacheDir, set: ['train.epochs=1', 'train.trainLimit=64', 'train.evalLimit=32'], log: (l) => lines.push(l) });
      return lines;
    };
    const first = await run();
    expect(first.filter((l) => l.startsWith('warm-up: ')).map((l) => l.split(':')[1].trim())).toEqual(expect.arrayContaining([expect.stringMatching(/^paper-shallow/), expect.stringMatching(/^paper-deep/)]));
    const second = await run();
    expect(second.filter((l) => l.startsWith('warm-up'))).toEqual([]);
    const plan = (lines: string[]) => lines.filter((l) => /^ETA |^ {2}\S+ {2}paper-/.test(l));
    expect(plan(second)).toEqual(plan(first));
    expect(plan(second).find((l) => l.startsWith('ETA'))).not.toMatch(/lower bound/);
  }, 600_000);
});

describe('the disk estimate', () => {
  it('a finished job with no stored speed here counts what its folder holds, never "?"', () => {
    const root = mkdtempSync(join(tmpdir(), 'fer-eta-disk-'));
    mkdirSync(join(root, 'jobs', 'h1', 'model'), { recursive: true });
    writeFileSync(join(root, 'jobs', 'h1', 'model', 'weights.bin'), Buffer.alloc(3000));
    writeFileSync(join(root, 'jobs', 'h1', 'result.json'), '{}');
    const job = { hash: 'h1', model: { name: 'my-net', config: {} }, modelScale: 0.125, train: { epochs: 2, batchSize: 32 } } as unknown as Job;
    const store = new SpeedStore('test-machine', mkdtempSync(join(tmpdir(), 'fer-speeds-')));
    const e = estimatePlan({ jobs: [job], rows: () => ({ train: 480, val: 140, test: 140 }), store, isDone: () => true, jobDir: (j) => join(root, 'jobs', j.hash), budget: 'smoke', keepCheckpoints: false });
    expect(e.keptBytes).toBe(3002);
    expect(formatBytes(e.keptBytes + e.checkpointBytes)).toBe('3 kB');
    expect(e.cached).toBe(1);
  });
});
