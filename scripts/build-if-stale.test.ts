// The staleness check behind harness/bin/fer.mjs and the doc-test (scripts/build-if-stale.mjs).
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { staleReason, targets } from './build-if-stale.mjs';

const dir = mkdtempSync(join(tmpdir(), 'fer-stale-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(rel: string, secondsAgo: number) {
  const p = join(dir, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, '');
  const t = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(p, t, t);
}

describe('staleReason', () => {
  const t = { name: 'x', dir: join(dir, 'pkg'), inputs: ['src', 'package.json'], output: 'dist/index.js' };

  it('names the missing output, then the first newer source; tests do not count', () => {
    file('pkg/src/a.ts', 100);
    file('pkg/package.json', 100);
    expect(staleReason(t, dir)).toBe('dist/index.js missing');
    file('pkg/dist/index.js', 50);
    expect(staleReason(t, dir)).toBeUndefined();
    file('pkg/src/a.test.ts', 10);
    expect(staleReason(t, dir)).toBeUndefined();
    file('pkg/src/deep/b.ts', 10);
    expect(staleReason(t, dir)).toBe('src/deep/b.ts changed');
    file('pkg/dist/index.js', 0);
    file('tsup.config.base.ts', -5); // a shared build config changed after the build
    expect(staleReason(t, dir)).toBe('tsup.config.base.ts changed');
  });
});

describe('targets', () => {
  it('lists the TypeScript packages in dependency order, then the harness', () => {
    const names = targets().map((t: { name: string }) => t.name);
    expect(names.at(-1)).toBe('@fer/harness');
    expect(names.indexOf('@fer/data')).toBeLessThan(names.indexOf('@fer/models'));
    expect(names.indexOf('@fer/hog')).toBeLessThan(names.indexOf('@fer/models'));
    expect(names).not.toContain('@fer/testing');
    expect(names).not.toContain('@fer/engine-native-linux-x64-gnu');
  });
});
