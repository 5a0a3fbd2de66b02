// A user's own model through the CLI, end to end: examples/my-model/fer.config.mjs registers `my-net`;
// it passes the @fer/models conformance kit, `fer train` trains it (tiny synthetic data), `fer evaluate` reads
// the saved model, and `pnpm reproduce --only zoo --budget smoke` trains it as a zoo row, as the same job
// (same config hash) as `fer train --preset smoke`.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testModelDefinition } from '@fer/models/testing';
import { runSweep } from './commands/sweep.js';
import { gridSets } from './sweep/space.js';
import { loadProject } from './project.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const config = join(repo, 'examples', 'my-model', 'fer.config.mjs');
const backend = 'wasm';

function fer(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    // FER2013_PATH '' = the synthetic data, also where CI sets the real file; INIT_CWD: relative paths as typed at the repo root.
    const child = spawn(process.execPath, ['--conditions=@fer/source', '--import', 'tsx', join(here, 'cli.ts'), ...args], {
      cwd: join(repo, 'harness'), env: { ...process.env, FER2013_PATH: '', INIT_CWD: repo, FER_ENGINE_WEBGPU: '0' },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', rej);
    child.on('exit', (code) => res({ code, stdout, stderr }));
  });
}

describe('a user model from a fer.config file (examples/my-model)', () => {
  it('registers it, and it passes the @fer/models conformance kit', async () => {
    const p = await loadProject({ config });
    expect(p.userModels).toEqual(['my-net']);
    expect(p.configFile).toBe(config);
    expect(p.registry.list()).toContain('paper-deep');
    const zoo = p.experiments.find((e) => e.id === 'zoo')!;
    expect(zoo.rows.map((r) => r.row)).toEqual(['vgg-fer', 'mini-xception', 'my-net']);
    await testModelDefinition(p.registry.get('my-net'), { config: { inputSize: 16 } });
    await expect(loadProject({ config: 'no/such/fer.config.mjs', cwd: repo })).rejects.toMatchObject({ code: 'E_FS' });
  }, 60_000);

  it('fer train trains it a few steps, fer evaluate reads it, pnpm reproduce --only zoo --budget smoke runs it as the same job', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fer-user-model-'));
    // `fer train --preset smoke`: exactly the reproduction's smoke job of the my-net zoo row (1/8 width, ~480 rows, 2 epochs).
    const t = await fer(['train', '--config', config, '--model', 'my-net', '--preset', 'smoke', '--out', join(out, 'train'), '--backend', backend]);
    expect(t.code, t.stderr).toBe(0);
    const trained = JSON.parse(readFileSync(join(out, 'train', 'config.json'), 'utf8'));
    expect(trained).toMatchObject({ preset: 'smoke', model: { name: 'my-net', config: { filters: [2, 4], dropout: 0.25 } }, train: { epochs: 2, batchSize: 32, optimizer: { learningRate: 1e-3 } }, data: { synthetic: true } });
    const history = JSON.parse(readFileSync(join(out, 'train', 'history.json'), 'utf8')) as { loss: number; valAccuracy: number }[];
    expect(history).toHaveLength(2);

    const e = await fer(['evaluate', '--model', join(out, 'train', 'model'), '--split', 'PublicTest', '--json', '--backend', backend]);
    expect(e.code, e.stderr).toBe(0);
    const report = JSON.parse(e.stdout);
    expect(report).toMatchObject({ split: 'PublicTest', synthetic: true });
    expect(report.total).toBeGreaterThan(100);

    const r = await fer(['reproduce', '--config', config, '--only', 'zoo', '--budget', 'smoke', '--out', join(out, 'reproduce'), '--backend', backend]);
    expect(r.code, r.stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'reproduce', 'results.json'), 'utf8'));
    const job = results.jobs.find((j: { model: string }) => j.model === 'my-net');
    expect(job).toBeDefined();
    expect(job.hash).toBe(trained.hash);
    // the same job trains the same way: same rows, batches, seeds and config, so the same losses (measured equal
    // to the last bit here; the margin only allows for a multi-threaded kernel summing in another order)
    job.history.forEach((h: { loss: number; valAccuracy: number }, i: number) => {
      expect(h.loss).toBeCloseTo(history[i].loss, 4);
      expect(Math.abs(h.valAccuracy - history[i].valAccuracy)).toBeLessThanOrEqual(0.02);
    });
    expect(existsSync(join(out, 'reproduce', 'jobs', job.hash, 'model', 'model.json'))).toBe(true);
    expect(readFileSync(join(out, 'reproduce', 'report.md'), 'utf8')).toMatch(/my-net/);
  }, 600_000);

  it('fer sweep picks it up too (each job a fer train child with --config)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fer-user-sweep-'));
    const saved = process.env.FER2013_PATH;
    process.env.FER2013_PATH = '';
    try {
      const grid = gridSets(['lr=1e-3;dropout=0.1']);
      // parallel > 1: each trial a fer train child process
      const { rows } = await runSweep({
        model: 'my-net', config, preset: 'smoke', sample: (i) => grid[i] ?? null, trials: 1, parallel: 2, out, backend, log: () => undefined,
        baseSets: ['epochs=1', 'limit=64', 'train.evalLimit=32'],
      });
      expect(rows[0]).toMatchObject({ status: 'done', epochs: 1 });
      const cfg = JSON.parse(readFileSync(join(out, 'trials', rows[0].key, 'config.json'), 'utf8'));
      expect(cfg).toMatchObject({ model: { name: 'my-net', config: { dropout: 0.1 } }, train: { optimizer: { learningRate: 1e-3 } } });
    } finally {
      if (saved === undefined) delete process.env.FER2013_PATH;
      else process.env.FER2013_PATH = saved;
    }
  }, 300_000);

  it('an unknown flag names the nearest known one', async () => {
    const r = await fer(['train', '--modle', 'my-net', '--out', 'x']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown flag --modle.*did you mean --model\?/i);
  }, 60_000);
});
