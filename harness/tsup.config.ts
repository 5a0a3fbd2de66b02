// The harness (the `fer` CLI) is built like the packages, so `fer` starts from plain JavaScript instead of
// compiling TypeScript through tsx on every run. harness/bin/fer.mjs rebuilds it when a source is newer.
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(here, 'dist');

export default defineConfig({
  entry: { cli: 'src/cli.ts' },
  format: ['esm'],
  outDir,
  target: 'node20',
  platform: 'node',
  splitting: true, // every subcommand stays a lazily loaded chunk: `fer --help` loads only cli.js and citty
  sourcemap: true,
  clean: true,
  dts: false,
  // The workspace packages and every npm dependency are loaded from node_modules (the packages' dist).
  external: [/^@fer\//],
  esbuildPlugins: [sourceRelativeImportMeta()],
});

/**
 * The harness finds files next to its sources (harness/peers/*.py, the repo root, src/cli.ts for child
 * processes) from `import.meta.url`. Bundled, every module would report dist/<chunk>.js instead, so each
 * source file's `import.meta.url` is rewritten to its own source path, relative to dist/ (all chunks are
 * written to dist/ itself), which keeps the built CLI movable with the checkout.
 */
function sourceRelativeImportMeta() {
  return {
    name: 'source-relative-import-meta-url',
    setup(build: { onLoad(o: { filter: RegExp }, cb: (a: { path: string }) => Promise<{ contents: string; loader: 'ts' } | undefined>): void }) {
      build.onLoad({ filter: /[\\/]harness[\\/](src|experiments)[\\/].*\.ts$/ }, async ({ path }) => {
        const text = await readFile(path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const rel = relative(outDir, path).split('\\').join('/');
        return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`), loader: 'ts' };
      });
    },
  };
}
