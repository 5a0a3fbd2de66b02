import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePng, grayTile, pngVariance } from '../figures/png.js';
import { renderHtml, renderMarkdown, summarize, SYNTHETIC_BANNER, type ReportModel } from './render.js';
import type { VerdictRow } from './sections.js';

const cell = (mean: number) => ({ mean, std: NaN, ci: [mean - 0.03, mean + 0.03] as [number, number], n: 1, method: 'bootstrap' as const });
const row = (label: string, paper: number, mean: number, reproduced: boolean): VerdictRow => ({ table: 'Table 1', label, paper, ours: cell(mean), verdict: { delta: mean - paper, reproduced, status: reproduced ? 'reproduced' : 'not reproduced', why: '' } });

function model(synthetic: boolean): ReportModel {
  return {
    title: 'T', synthetic, dataSource: 'x', budget: 'smoke', budgetDescription: 'tiny', seeds: 1, backend: 'cpu', totalSeconds: 12, notes: ['a note'],
    sections: [{ id: 'accuracy', ref: 'Table 1', title: 'Accuracy', description: 'desc', markdown: '| a | b |\n| - | - |\n| 1 | 2 |', figures: [{ file: 'figures/a.png', caption: 'cap' }], verdicts: [row('Deep, test', 0.64, 0.63, true), row('Shallow, test', 0.54, 0.4, false)] }],
    jobs: [{ hash: 'abc', model: 'paper-deep', seed: 1, epochs: 2, trainRows: 10, status: 'trained', wallSeconds: 3, bestEpoch: 2, usedBy: 'accuracy' }],
  };
}

describe('report rendering', () => {
  it('summarises what reproduced and what did not', () => {
    const s = summarize(model(false).sections[0].verdicts);
    expect(s).toContain('**1 of 2**');
    expect(s).toContain('Reproduced: Deep, test [Table 1]');
    expect(s).toContain('Not reproduced: Shallow, test [Table 1] (-14.0 pts)');
  });

  it('smoke or synthetic runs say "not a result" instead of counting verdicts; inconclusive cells are listed', () => {
    const s = summarize(model(false).sections[0].verdicts, 'smoke budget (a pipeline check)');
    expect(s).toMatch(/^\*\*Not a result: no verdicts.\*\* Smoke budget \(a pipeline check\)\. The 2 reported numbers/);
    expect(s).not.toContain('Reproduced:');
    const wide: VerdictRow = { ...row('Deep: Happy', 0.805, 0.64, false), verdict: { delta: -0.165, reproduced: null, status: 'inconclusive', why: '' } };
    const t = summarize([...model(false).sections[0].verdicts, wide]);
    expect(t).toContain('**1 of 3** reported numbers reproduced');
    expect(t).toContain('1 inconclusive');
    expect(t).toContain('Inconclusive: Deep: Happy [Table 1].');
    expect(t).not.toContain('without a verdict');
    // A cell whose job has not finished yet has no number: counted apart, not hidden in "0 not reproduced".
    const pending: VerdictRow = { table: 'Table 1', label: 'Deep, validation', paper: 0.65, ours: cell(NaN), verdict: { delta: null, reproduced: null, status: 'not comparable', why: 'no number yet' } };
    expect(summarize([...model(false).sections[0].verdicts, pending])).toContain('1 not reproduced; 0 inconclusive (CI too wide to tell); 1 without a verdict');
  });

  it('a stopped run gets a PARTIAL REPORT banner with the command that continues, and unfinished jobs in the table', () => {
    const m = model(false);
    m.stopped = { why: '--hours 2 spent', command: 'pnpm reproduce --budget paper --out /r --hours 2', finished: 1, total: 2, inProgress: ['paper-deep seed 1 at epoch 7 of 35'] };
    m.jobs.push({ hash: 'def', model: 'paper-deep', seed: 1, epochs: 35, trainRows: 28709, status: 'in progress: epoch 7 of 35 (step 3/225)', wallSeconds: 3600, bestEpoch: NaN, usedBy: 'accuracy' });
    const md = renderMarkdown(m);
    expect(md).toContain('> **PARTIAL REPORT** — stopped (--hours 2 spent) with 1 of 2 training jobs finished; in progress: paper-deep seed 1 at epoch 7 of 35.');
    expect(md).toContain('> `pnpm reproduce --budget paper --out /r --hours 2`');
    expect(md).toMatch(/\| in progress: epoch 7 of 35 \(step 3\/225\) \|/);
    expect(md).not.toContain('NaN');
  });

  it('puts the synthetic banner first, only for synthetic data', () => {
    expect(renderMarkdown(model(true)).startsWith(SYNTHETIC_BANNER)).toBe(true);
    expect(renderMarkdown(model(false))).not.toContain('SYNTHETIC DATA');
    const md = renderMarkdown(model(false));
    for (const h of ['## Summary', '## Table 1: Accuracy', '## Jobs', '## Notes', '## Files', '![cap](figures/a.png)', 'SMOKE BUDGET']) expect(md).toContain(h);
  });

  it('renders self-contained HTML with the figures inlined', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fer-report-'));
    mkdirSync(join(dir, 'figures'));
    const png = encodePng(grayTile(Float32Array.from({ length: 64 }, (_, i) => i), 8, 8, 2));
    writeFileSync(join(dir, 'figures/a.png'), png);
    const html = renderHtml(renderMarkdown(model(true)), dir, 'T');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<h2>Table 1: Accuracy</h2>');
    expect(html).toContain('<table>');
    expect(html).not.toMatch(/src="figures\//);
    const uri = /src="data:image\/png;base64,([^"]+)"/.exec(html)![1];
    expect(pngVariance(new Uint8Array(Buffer.from(uri, 'base64'))).variance).toBeGreaterThan(0);
  });

  it('a blank picture has zero variance', () => {
    expect(pngVariance(encodePng(grayTile(new Float32Array(16), 4, 4))).variance).toBe(0);
  });
});
