// End to end: `pnpm reproduce --budget smoke` into a temp dir, on the synthetic data and again on
// the real FER2013 when FER2013_PATH is set (CI sets it), then checks the HTML report: every section present and
// every inlined image non-blank; a second run reuses the cached jobs.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { experiments } from '../../experiments/index.js';
import { pngVariance } from '../figures/png.js';
import { reproduce } from './run.js';

const unescape = (s: string) => s.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'");

const datasets: { name: string; data: string }[] = [{ name: 'synthetic', data: 'synthetic' }];
if (process.env.FER2013_PATH) datasets.push({ name: 'real FER2013 (FER2013_PATH)', data: process.env.FER2013_PATH });

describe.each(datasets)('pnpm reproduce --budget smoke on $name data', ({ data }) => {
  it('produces every table and figure, with non-blank images, and resumes from its cache', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fer-reproduce-'));
    const lines: string[] = [];
    // data 'synthetic': the embedded synthetic set, whatever FER2013_PATH says.
    const cacheDir = mkdtempSync(join(tmpdir(), 'fer-speeds-'));
    const first = await reproduce({ budget: 'smoke', out, data, backend: process.env.FER_BACKEND ?? 'auto', log: (l) => lines.push(l), cacheDir });
    expect(lines.some((l) => l.startsWith('plan: 6 training job(s)'))).toBe(true);
    expect(lines.some((l) => l.startsWith('ETA'))).toBe(true);
    for (const f of ['report.md', 'report.html', 'results.json', 'config.json', 'env.json']) expect(existsSync(join(out, f)), f).toBe(true);

    const html = readFileSync(join(out, 'report.html'), 'utf8');
    const headings = [...html.matchAll(/<h2>([^<]+)<\/h2>/g)].map((m) => unescape(m[1]));
    // the sweep experiment runs only when named (--only sweep)
    expect(headings).toEqual(['Summary', ...experiments.filter((e) => e.produce !== 'sweep').map((e) => `${e.ref}: ${e.title}`), 'Jobs', 'Notes', 'Files']);
    const synthetic = data === 'synthetic';
    expect(html.includes('SYNTHETIC DATA')).toBe(synthetic);
    expect(html).toContain('SMOKE BUDGET');
    // Honest verdicts: a smoke run hands out none; every accuracy table carries the no-skill baselines.
    expect(html).toContain('Not a result: no verdicts.');
    expect(html).not.toContain('✓ reproduced');
    expect(html).not.toContain('✗ not reproduced');
    expect(html.match(/Baselines \(no skill\): chance 14\.3%/g)?.length).toBeGreaterThanOrEqual(5); // accuracy, 2 per-expression, hybrid, zoo
    expect(html).toMatch(/always the majority class: \w+ \d+\.\d% of PublicTest \(\d+ rows\), \w+ \d+\.\d% of PrivateTest/);
    expect(html).not.toMatch(/<img src="(?!data:)/);

    const images = [...html.matchAll(/src="data:image\/png;base64,([^"]+)"/g)].map((m) => pngVariance(new Uint8Array(Buffer.from(m[1], 'base64'))));
    // accuracy 1, per-expression 2, hybrid 2, confusion 2, histories 2, activation maps >= 2, filters 1, deepdream 1, zoo 1
    expect(images.length).toBeGreaterThanOrEqual(14);
    for (const im of images) {
      expect(im.width).toBeGreaterThan(10);
      expect(im.variance).toBeGreaterThan(1);
    }
    for (const s of first.sections) expect(s.figures.length, s.id).toBeGreaterThan(0);
    const env = JSON.parse(readFileSync(join(out, 'env.json'), 'utf8')) as Record<string, unknown>;
    expect(env).toHaveProperty('backend');
    expect(env).toHaveProperty('git');
    expect(env).toMatchObject({ budget: 'smoke', synthetic });
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))).toMatchObject({ budget: 'smoke', synthetic, complete: true });

    // Same command again: every job comes from the cache.
    const againLines: string[] = [];
    const again = await reproduce({ budget: 'smoke', out, data, backend: process.env.FER_BACKEND ?? 'auto', log: (l) => againLines.push(l), noWarmup: true, only: ['accuracy'], cacheDir });
    expect([...again.outcomes.values()].every((o) => o.status === 'cached')).toBe(true);
    // Cached jobs cost nothing in the ETA; what is left is the figures and the report, as measured by the first run.
    expect(againLines.find((l) => l.startsWith('ETA'))).toMatch(/^ETA ~\d+s: training 0s \+ evaluation 0s \+ figures and report ~\d+s; 2 of 2 job\(s\) cached \(0s\)/);
  }, 1_200_000);
});
