// Issue 26: a second `pnpm reproduce` into the same output keeps the first one's report sections (merged when
// the data, budget, seeds and --set agree), or refuses naming --out.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { experiments } from '../../experiments/index.js';
import { decodePng, SYNTHETIC_BANNER_RGB } from '../figures/png.js';
import { mergeExperiments, type EarlierRun } from './_merge.js';
import { reproduce } from './run.js';

const byId = (id: string) => experiments.find((e) => e.id === id)!;
const earlier: EarlierRun = {
  budget: 'smoke', seeds: 1, set: [], data: { fingerprint: 'f1', source: 'synthetic' },
  experiments: [{ id: 'accuracy', rows: [{ row: 'shallow', model: { name: 'paper-shallow' } }] }],
};
const run = { budget: 'smoke', seeds: 1, set: [] as string[], fingerprint: 'f1', source: 'synthetic' };
const models = ['paper-shallow', 'paper-deep', 'vgg-fer', 'mini-xception', 'paper-hybrid-shallow', 'paper-hybrid-deep'];

describe('mergeExperiments', () => {
  it('keeps the earlier run\'s experiments (in the project\'s order) when compatible', () => {
    const merged = mergeExperiments({ earlier, current: [byId('zoo')], all: experiments, run, models, outDir: '/r' });
    expect(merged.map((e) => e.id)).toEqual(['accuracy', 'zoo']);
    expect(mergeExperiments({ earlier: undefined, current: [byId('zoo')], all: experiments, run, models, outDir: '/r' }).map((e) => e.id)).toEqual(['zoo']);
  });
  it('refuses, naming --out, another budget, data, seeds or --set, or a model this run does not know', () => {
    const refuse = (r: Partial<typeof run>, m = models) => () => mergeExperiments({ earlier, current: [byId('zoo')], all: experiments, run: { ...run, ...r }, models: m, outDir: '/r' });
    expect(refuse({ budget: 'quick' })).toThrow(/E_RUN_EXISTS|\/r holds the report of an earlier run .*budget quick here.*choose another --out/);
    expect(refuse({ budget: 'quick' })).toThrowError(expect.objectContaining({ code: 'E_RUN_EXISTS' }));
    expect(refuse({ fingerprint: 'f2' })).toThrow(/other data here/);
    expect(refuse({ seeds: 2 })).toThrow(/2 seed\(s\) here/);
    expect(refuse({ set: ['train.epochs=1'] })).toThrow(/--set train\.epochs=1 here/);
    expect(refuse({}, ['paper-deep'])).toThrow(/model\(s\) paper-shallow, not registered in this run .*--config again/);
  });
});

describe('pnpm reproduce twice into one --out', () => {
  it('the second run (--only another experiment) keeps the first one\'s sections; an incompatible one is refused', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fer-merge-'));
    const cacheDir = mkdtempSync(join(tmpdir(), 'fer-speeds-'));
    const base = { budget: 'smoke' as const, out, data: 'synthetic', backend: process.env.FER_BACKEND ?? 'auto', noWarmup: true, cacheDir, set: ['train.epochs=1', 'train.trainLimit=64', 'train.evalLimit=32'], log: () => undefined };
    await reproduce({ ...base, only: ['accuracy'] });
    const first = readFileSync(join(out, 'report.md'), 'utf8');
    expect(first).toMatch(/## Table 1/);
    // the next command is in the report, not only in the terminal
    expect(first).toMatch(/\*\*Next:\*\* that was the synthetic set[^]*pnpm reproduce --data \/path\/to\/fer2013\.csv --dry-run/);
    // every PNG of a synthetic report carries the banner
    const png = decodePng(readFileSync(join(out, 'figures', 'accuracy-bars.png')));
    expect(Array.from(png.rgb.subarray(0, 3))).toEqual([...SYNTHETIC_BANNER_RGB]);

    const lines: string[] = [];
    const second = await reproduce({ ...base, only: ['filters', 'deepdream'], log: (l) => lines.push(l) });
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    const headings = [...report.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual(['Summary', ...['accuracy', 'filters', 'deepdream'].map((id) => `${byId(id).ref}: ${byId(id).title}`), 'Jobs', 'Notes', 'Files']);
    expect(report).toContain(first.match(/## Table 1[^]*?\n## /)![0].slice(0, -4).split('\n').find((l) => l.startsWith('|'))!);
    expect(lines.join('\n')).toMatch(/its accuracy section\(s\) stay in the report/);
    expect(second.sections.map((s) => s.id)).toEqual(['accuracy', 'filters', 'deepdream']);
    // The DeepDream strip: a row of class names (dark text) under the seven 144-px pictures, below the synthetic banner.
    const dream = decodePng(readFileSync(join(out, 'figures', 'deepdream.png')));
    let banner = 0;
    while (dream.rgb[banner * dream.width * 3] === SYNTHETIC_BANNER_RGB[0] && dream.rgb[banner * dream.width * 3 + 2] === SYNTHETIC_BANNER_RGB[2]) banner++;
    const labelsTop = banner + 6 + 144 + 6;
    expect(dream.height).toBeGreaterThan(labelsTop + 14);
    let ink = 0;
    for (let i = labelsTop * dream.width; i < dream.width * dream.height; i++) if (dream.rgb[i * 3] < 50) ink++;
    expect(ink).toBeGreaterThan(7 * 20);

    await expect(reproduce({ ...base, set: ['train.epochs=2', 'train.trainLimit=64', 'train.evalLimit=32'], only: ['filters'] }))
      .rejects.toMatchObject({ code: 'E_RUN_EXISTS', message: expect.stringMatching(/choose another --out/) });
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toBe(report);
  }, 600_000);
});
