// Bundles a published package for the browser the way a web app's bundler does (esbuild, platform 'browser':
// the package's browser entry, i.e. its exports without the `node` condition, and everything it imports, peer
// dependencies such as @tensorflow/tfjs included) and lists every Node built-in (fs, node:path, worker_threads,
// ...) that reaches the bundle, with the file that imports it. A package's browser field may map a built-in away
// (`"fs": false`): that one does not reach the bundle and is not listed.
//   node scripts/browser-bundle.mjs [packages/fer-models ...]   # all published packages by default
import { builtinModules } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Whether `spec` names a Node built-in: `node:x`, `fs`, `fs/promises`, ... */
export function isNodeBuiltin(spec) {
  return spec.startsWith('node:') || BUILTINS.has(spec) || BUILTINS.has(spec.split('/')[0]);
}

/** The published packages (packages/* without "private": true): [{ name, dir, manifest }]. */
export function publishedPackages(root = ROOT) {
  return readdirSync(join(root, 'packages'))
    .map((d) => ({ dir: join(root, 'packages', d), manifest: JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')) }))
    .filter((p) => !p.manifest.private)
    .map((p) => ({ name: p.manifest.name, dir: p.dir, manifest: p.manifest }));
}

/**
 * Bundles `source` (module text, e.g. `export * from '@fer/models'`) for the browser, resolving from `resolveDir`.
 * Returns { builtins: [{ module, importer }], errors: [text], bytes, inputs }: `builtins` are the Node built-ins that
 * reach the bundle (esbuild cannot resolve them for the browser; they are kept out as externals so that every one
 * is found in one pass), `errors` any other build error.
 */
export async function bundleForBrowser({ source, resolveDir, conditions = [] }) {
  const builtins = [];
  const guard = {
    name: 'node-builtins',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === 'node-builtins' || !isNodeBuiltin(args.path)) return undefined;
        // Let esbuild try first: a browser field may map the built-in to a shim or to false (an empty module);
        // then esbuild's own resolution is kept.
        const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'node-builtins' });
        if (r.errors.length === 0 && !r.external) return undefined;
        builtins.push({ module: args.path, importer: relative(ROOT, args.importer) || args.importer });
        return { path: args.path, external: true };
      });
    },
  };
  try {
    const res = await build({
      stdin: { contents: source, resolveDir, sourcefile: 'entry.js', loader: 'js' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      conditions,
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [guard],
      // The wasm backend's files are fetched at run time, not bundled; tfjs's optional Node paths are guarded by
      // its own browser field.
      loader: { '.wasm': 'file' },
      outdir: 'out',
    });
    return { builtins, errors: [], bytes: res.outputFiles.reduce((n, f) => n + f.contents.byteLength, 0), inputs: Object.keys(res.metafile.inputs) };
  } catch (e) {
    return { builtins, errors: (e.errors ?? [{ text: e.message }]).map((x) => `${x.text}${x.location ? ` (${x.location.file}:${x.location.line})` : ''}`), bytes: 0, inputs: [] };
  }
}

/** Bundles package `name` (its browser entry, imported by name from its own folder) for the browser. */
export function bundlePackage(pkg) {
  return bundleForBrowser({ source: `export * from ${JSON.stringify(pkg.name)};\n`, resolveDir: pkg.dir });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const only = process.argv.slice(2).map((d) => join(process.cwd(), d));
  let bad = 0;
  for (const pkg of publishedPackages()) {
    if (only.length && !only.includes(pkg.dir)) continue;
    const r = await bundlePackage(pkg);
    const ok = r.builtins.length === 0 && r.errors.length === 0;
    if (!ok) bad++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${pkg.name}: ${ok ? `${(r.bytes / 1e6).toFixed(2)} MB` : ''}`);
    for (const b of r.builtins) console.log(`       Node built-in ${b.module} imported by ${b.importer}`);
    for (const e of r.errors) console.log(`       ${e}`);
  }
  process.exit(bad ? 1 : 0);
}
