import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** The modules the main entry loads, following relative imports from src/index.ts. */
function reachable(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const text = readFileSync(new URL(file, import.meta.url), 'utf8');
    const specs = [...text.matchAll(/^\s*(?:import|export)[^'"]*from\s+'([^']+)'/gm)].map((m) => m[1]);
    seen.set(file, specs);
    for (const s of specs) if (s.startsWith('./')) visit(s.replace(/\.js$/, '.ts'));
  };
  visit(entry);
  return seen;
}

describe('browser safety', () => {
  it('the main entry imports no Node built-in and no package but tfjs', () => {
    const graph = reachable('./index.ts');
    expect([...graph.keys()].sort()).toEqual(['./_blazeface.ts', './_image.ts', './_tiling.ts', './detector.ts', './errors.ts', './index.ts']);
    const external = [...new Set([...graph.values()].flat().filter((s) => !s.startsWith('./')))];
    expect(external).toEqual(['@tensorflow/tfjs']);
  });

  it('the Node entry is the one that reads the vendored files', () => {
    expect(reachable('./node.ts').get('./node.ts')).toEqual(expect.arrayContaining(['node:fs/promises', 'node:url', './index.js']));
  });
});
