import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeSyntheticFer } from '@fer/data';
import { dataStats, formatStats } from './data.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'harness/src/cli.ts');

function fer(args: string[], env: Record<string, string | undefined> = {}) {
  const e = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete e[k];
  return spawnSync(process.execPath, ['--conditions=@fer/source', '--import', 'tsx', cli, ...args], { cwd: root, env: e, encoding: 'utf8' });
}

function row(label: number, usage: string, value = 7): string {
  return `${label},${Array.from({ length: 2304 }, () => value).join(' ')},${usage}`;
}

describe('fer data stats', () => {
  it('counts splits and classes and reports duplicates', () => {
    const ds = makeSyntheticFer({ seed: 3, counts: { Training: 70, PublicTest: 14, PrivateTest: 14 } });
    const s = dataStats(ds);
    expect(s.synthetic).toBe(true);
    expect(s.splits.Training.total).toBe(70);
    expect(s.splits.Training.perClass.reduce((a, b) => a + b, 0)).toBe(70);
    expect(s.splits.PublicTest.total + s.splits.PrivateTest.total).toBe(28);
    expect(formatStats(s)).toMatch(/SYNTHETIC/);
  });

  it('prints the issue JSON shape for a CSV, with cross-split duplicates', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fer-stats-'));
    const csv = join(dir, 'fer2013.csv');
    writeFileSync(csv, ['emotion,pixels,Usage', row(3, 'Training', 1), row(3, 'Training', 2), row(0, 'PublicTest', 1), row(6, 'PrivateTest', 9)].join('\n') + '\n');
    const r = fer(['data', 'stats', '--data', csv, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.splits.Training).toMatchObject({ total: 2, perClass: [0, 0, 0, 2, 0, 0, 0] });
    expect(j.splits.PublicTest).toMatchObject({ total: 1, perClass: [1, 0, 0, 0, 0, 0, 0] });
    expect(j.splits.PrivateTest).toMatchObject({ total: 1, perClass: [0, 0, 0, 0, 0, 0, 1] });
    expect(j.duplicates.testInTraining.PublicTest).toBe(1);
  });

  it('names file, line and field for a bad row, and --skip-bad-rows reports the count skipped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fer-stats-'));
    const csv = join(dir, 'bad.csv');
    writeFileSync(csv, ['emotion,pixels,Usage', row(3, 'Training'), row(9, 'Training'), row(2, 'PublicTest')].join('\n') + '\n');
    const bad = fer(['data', 'stats', '--data', csv]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr + bad.stdout).toMatch(/bad\.csv/);
    expect(bad.stderr + bad.stdout).toMatch(/line 3/);
    expect(bad.stderr + bad.stdout).toMatch(/emotion/);
    const skip = fer(['data', 'stats', '--data', csv, '--skip-bad-rows']);
    expect(skip.status, skip.stderr).toBe(0);
    expect(skip.stdout).toMatch(/skipped bad rows: 1/);
  });

  it('falls back to the synthetic set and says so when no data is given', () => {
    const r = fer(['data', 'stats'], { FER2013_PATH: undefined });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SYNTHETIC/);
  });
});
