// `pnpm run setup` (scripts/setup.mjs): the engines range check, and a real run that reports every item.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeSatisfies, runChecks } from './setup.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('nodeSatisfies', () => {
  it('reads the root engines range', () => {
    const range = '>=20.19 <21 || >=22.12';
    for (const v of ['20.19.0', 'v20.20.2', '22.12.0', '24.1.0']) expect(nodeSatisfies(v, range), v).toBe(true);
    for (const v of ['18.20.4', '20.18.9', '21.7.3', '22.11.0']) expect(nodeSatisfies(v, range), v).toBe(false);
    expect(() => nodeSatisfies('20.0.0', '^20')).toThrow(/cannot read the engines range part "\^20"/);
  });
});

describe('setup', () => {
  it('names a missing data path and what to do, as a warning only', async () => {
    const checks = await runChecks({ env: { FER2013_PATH: '/nonexistent/fer2013.csv.gz' }, build: false });
    expect(checks.map((c) => c.name)).toEqual(['node', 'pnpm', 'dependencies', 'build', 'native CPU kernels', 'FER2013 data', 'backend', 'PyTorch peer (pnpm bench only)']);
    const data = checks.find((c) => c.name === 'FER2013 data')!;
    expect(data).toMatchObject({ ok: false, required: false, detail: 'FER2013_PATH=/nonexistent/fer2013.csv.gz does not exist', fix: expect.stringMatching(/Kaggle.*export FER2013_PATH/) });
  }, 300_000);

  it('pnpm run setup: every required item ok here, one line each, exit 0', () => {
    const r = spawnSync(process.execPath, ['scripts/setup.mjs'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok {3}node: /m);
    expect(r.stdout).toMatch(/^ok {3}dependencies: installed$/m);
    expect(r.stdout).toMatch(/^ok {3}build: /m);
    expect(r.stdout).toMatch(/^(ok {3}|warn )native CPU kernels: /m);
    expect(r.stdout).toMatch(/\nready: pnpm fer --help/);
  }, 600_000);
});
