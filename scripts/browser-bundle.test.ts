// Every published package bundles for the browser (esbuild, platform 'browser', as a web app's bundler would) with
// no Node built-in reaching the bundle: each package's browser entry (its exports without the `node` condition)
// is free of fs, path, worker_threads, ... Node still resolves the `node` condition (the full entry).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bundleForBrowser, bundlePackage, isNodeBuiltin, publishedPackages } from './browser-bundle.mjs';

const LONG = 300_000; // a hang guard only (a stale package is rebuilt first)

/** Published packages that are not for the browser, and why. */
const NOT_FOR_BROWSER: Record<string, string> = {
  '@fer/engine-native-linux-x64-gnu': 'a Node-API addon (platform package of @fer/engine), no JavaScript entry',
  // Model files (model/*, results.json) that a page serves as static files and loads by URL; nothing to import.
  '@fer/weights-paper-shallow': 'data files only (model/*, results.json), no JavaScript entry',
};

const packages = publishedPackages();

/** Builds what is stale of `names` (scripts/build-if-stale.mjs) in a child process, so this worker keeps answering vitest. */
async function buildIfStale(names: string[]): Promise<void> {
  const code = `import { buildIfStale } from './scripts/build-if-stale.mjs'; buildIfStale({ only: ${JSON.stringify(names)} });`;
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', code], { cwd: new URL('..', import.meta.url).pathname, maxBuffer: 64 << 20 });
}

describe('browser bundles', () => {
  it('the detector finds node: and bare built-ins, naming the importer, and leaves browser-field shims alone', async () => {
    const r = await bundleForBrowser({ source: "import { readFile } from 'node:fs/promises';\nimport os from 'os';\nexport { readFile, os };\n", resolveDir: process.cwd() });
    expect(r.builtins.map((b) => b.module).sort()).toEqual(['node:fs/promises', 'os']);
    expect(r.builtins[0].importer).toMatch(/entry\.js/);
    expect(isNodeBuiltin('worker_threads') && isNodeBuiltin('fs/promises') && !isNodeBuiltin('@tensorflow/tfjs')).toBe(true);
  });

  it('the Node entry (the `node` condition) is what a browser bundle must not get: it imports Node built-ins', async () => {
    const models = packages.find((p) => p.name === '@fer/models')!;
    await buildIfStale(['@fer/data', '@fer/hog', '@fer/models']);
    const r = await bundleForBrowser({ source: "export * from '@fer/models';\n", resolveDir: models.dir, conditions: ['node'] });
    expect(r.builtins.map((b) => b.module.replace(/^node:/, ''))).toEqual(expect.arrayContaining(['fs/promises', 'path', 'worker_threads']));
  }, LONG);

  it('every published package is bundled below, but those that have no JavaScript to import', () => {
    // The list of exceptions names published packages only, and none of them has a JavaScript entry: a package that
    // gains one (or is renamed) is bundled by the tests below, not passed over.
    const names = packages.map((p) => p.name);
    expect(Object.keys(NOT_FOR_BROWSER).filter((n) => !names.includes(n)), 'exceptions that are not published packages').toEqual([]);
    for (const name of Object.keys(NOT_FOR_BROWSER)) {
      const { manifest } = packages.find((p) => p.name === name)!;
      const targets = JSON.stringify([manifest.main, manifest.module, manifest.browser, manifest.exports]).match(/"[^"]*\.[cm]?[jt]s"/g) ?? [];
      expect(targets, `${name}: JavaScript entries`).toEqual([]);
    }
    // The ones the browser needs are among them; a new published package is bundled without being named here.
    expect(names.filter((n) => !NOT_FOR_BROWSER[n])).toEqual(expect.arrayContaining(['@fer/data', '@fer/engine', '@fer/face', '@fer/hog', '@fer/metrics', '@fer/models']));
  });

  for (const pkg of packages) {
    if (NOT_FOR_BROWSER[pkg.name]) continue;
    it(`${pkg.name} bundles for the browser with no Node built-in`, async () => {
      await buildIfStale([pkg.name, ...Object.keys(pkg.manifest.dependencies ?? {})]);
      const r = await bundlePackage(pkg);
      const found = r.builtins.map((b) => `${b.module} (imported by ${b.importer})`);
      expect({ builtins: found, errors: r.errors }).toEqual({ builtins: [], errors: [] });
      expect(r.inputs.some((f: string) => f.includes(`${pkg.dir.split('/').pop()}/dist/`))).toBe(true); // the published files
    }, LONG);
  }

  it('@fer/engine: the browser entry leaves the Node-only parts (native addon loader, worker data-parallel, Dawn) to the Node entry', async () => {
    const engine = packages.find((p) => p.name === '@fer/engine')!;
    await buildIfStale(['@fer/engine']);
    const browser = await bundlePackage(engine);
    expect(browser.inputs.some((f: string) => f.endsWith('fer-engine/dist/browser.js'))).toBe(true);
    expect(browser.inputs.filter((f: string) => f.includes('fer-engine/dist/')).some((f: string) => /index\.js|parallel-worker/.test(f))).toBe(false);
    const node = await bundleForBrowser({ source: "export * from '@fer/engine';\n", resolveDir: engine.dir, conditions: ['node'] });
    expect(node.builtins.map((b) => b.module.replace(/^node:/, ''))).toEqual(expect.arrayContaining(['worker_threads', 'module']));
  }, LONG);
});
