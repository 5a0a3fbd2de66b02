import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

/** The file without its first NOTE comment (which names the other copy). */
function body(path: string): string {
  return readFileSync(path, 'utf8').replace(/\/\/ NOTE: kept identical to[\s\S]*?diverge\.\n/, '');
}

describe('the training loss is the same in @fer/engine and @fer/models', () => {
  it("src/parallel/_log-probs.ts equals @fer/models' src/_log-probs.ts (but the line naming the other copy)", () => {
    const engine = body(join(here, '_log-probs.ts'));
    const models = body(join(here, '../../../fer-models/src/_log-probs.ts'));
    expect(engine.length).toBeGreaterThan(1000);
    expect(engine).toBe(models);
  });
});
