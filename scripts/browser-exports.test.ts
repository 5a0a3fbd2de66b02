// A package's browser entry (src/browser.ts) is a subset of its Node entry (src/index.ts): the same names, so code
// written against the browser build runs in Node unchanged, and nothing is exported only to the browser by mistake.
// Both are explicit barrels (house style), so their export lists are read from the source; the values are compared
// at run time too (the same function where both export one, except names listed here with the reason).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const withBrowser = readdirSync(join(root, 'packages')).filter((d) => existsSync(join(root, 'packages', d, 'src', 'browser.ts')));

/** Names a browser entry exports with another implementation than Node's, and why. */
const DIFFERENT_VALUE: Record<string, string> = {
  'fer-models:loadModel': 'the browser loads from a URL or in-memory files; Node also takes a folder path',
  'fer-engine:initBackend': 'the browser picks WebGPU > WebGL > WASM (browser-backend.ts); Node adds the native kernels and worker threads (backend.ts)',
  'fer-engine:describeBackend': 'describes the backends of its own initBackend',
  'fer-engine:disposeBackend': 'disposes what its own initBackend set up',
};

/** The names an explicit barrel exports (`export { a, b as c } from ...`, `export type { T }`). */
function exportedNames(file: string): { values: string[]; types: string[] } {
  const src = readFileSync(file, 'utf8');
  const values: string[] = [];
  const types: string[] = [];
  for (const m of src.matchAll(/^export\s+(type\s+)?\{([^}]*)\}/gm)) {
    for (const part of m[2].split(',').map((s) => s.trim()).filter(Boolean)) {
      const typeOnly = Boolean(m[1]) || part.startsWith('type ');
      const name = part.replace(/^type\s+/, '').split(/\s+as\s+/).pop()!.trim();
      (typeOnly ? types : values).push(name);
    }
  }
  for (const m of src.matchAll(/^export\s+(?:async\s+)?(?:function|const|class|let)\s+(\w+)/gm)) values.push(m[1]);
  for (const m of src.matchAll(/^export\s+(?:interface|type)\s+(\w+)/gm)) types.push(m[1]);
  return { values, types };
}

describe('browser entries are subsets of the Node entries', () => {
  it('finds the packages with a browser entry', () => {
    expect(withBrowser.length).toBeGreaterThanOrEqual(5);
  });

  it.each(withBrowser)('%s: every name of src/browser.ts is exported by src/index.ts, with the same value', async (dir) => {
    const browser = exportedNames(join(root, 'packages', dir, 'src', 'browser.ts'));
    const node = exportedNames(join(root, 'packages', dir, 'src', 'index.ts'));
    expect(browser.values.length + browser.types.length).toBeGreaterThan(0);
    expect(browser.values.filter((n) => !node.values.includes(n)), 'values only in the browser entry').toEqual([]);
    expect(browser.types.filter((n) => !node.types.includes(n) && !node.values.includes(n)), 'types only in the browser entry').toEqual([]);
    const b = (await import(join(root, 'packages', dir, 'src', 'browser.ts'))) as Record<string, unknown>;
    const n = (await import(join(root, 'packages', dir, 'src', 'index.ts'))) as Record<string, unknown>;
    expect(Object.keys(b).sort()).toEqual([...browser.values].sort());
    for (const name of Object.keys(b)) {
      if (DIFFERENT_VALUE[`${dir}:${name}`]) continue;
      expect(b[name], `${dir}: ${name} differs between the entries`).toBe(n[name]);
    }
  }, 120_000);
});
