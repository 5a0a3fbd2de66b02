import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePng, grayTile, pngVariance } from '../figures/png.js';
import { renderHtml, renderMarkdown, summarize, SYNTHETIC_BANNER, type ReportModel } from './render.js';
import type { VerdictRow } from './sections.js';

const cell = (mean: number) => ({ mean, std: NaN, ci: [mean - 0.03, mean + 0.03] as [number, number], n: 1, method: 'bootstrap' as const });
const row = (label: string, paper: number, mean: number, reproduced: boolean): VerdictRow => ({ table: 'Table 1', label, paper, ours: cell(mean), verdict: { delta: mean - paper, reproduced, why: '' } });

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
