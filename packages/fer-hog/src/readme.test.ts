// The README's example must run as written (with '@fer/hog' pointed at this package's sources).
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it, vi } from 'vitest';

it('README example runs and prints what its comments say', async () => {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
  const code = /```js[^\n]*\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeTruthy();
  const index = fileURLToPath(new URL('./index.ts', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'fer-hog-readme-'));
  const file = join(dir, 'example.mjs');
  writeFileSync(file, code!.replace("from '@fer/hog'", `from ${JSON.stringify(index)}`));
  const logs: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logs.push(args.join(' ')));
  try {
    await import(/* @vite-ignore */ file);
  } finally {
    spy.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  }
  expect(logs).toEqual(['900 900', '2700', 'true', '48 48 2304']);
});
