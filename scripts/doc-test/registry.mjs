// A local, read-only npm registry for the README doc-test, so a fresh npm project can be installed with npm's
// own resolver and layout while offline: it serves
//   - the packed @fer tarballs (exactly what `pnpm pack` would publish), and
//   - every third-party package already in pnpm's virtual store (node_modules/.pnpm), each version as a tar
//     made on request from its installed folder (the files as published: pnpm stores a package's tarball
//     contents unchanged).
// A package or version the store lacks answers 404, so npm fails with the name instead of reaching the
// network. Optional dependencies it cannot serve (other platforms' binaries) are left out of the manifests,
// as npm would skip them on this platform anyway.
import { spawn } from 'node:child_process';
import { createReadStream, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

/**
 * Starts the registry on a free loopback port. `store`: the .pnpm folder; `packed`: [{ manifest, file }] of
 * the packed workspace packages (they win over the store). Returns { url, close(), requested }.
 */
export async function startRegistry({ store, packed = [] }) {
  const index = indexStore(store);
  for (const p of packed) index.set(p.manifest.name, new Map([[p.manifest.version, { manifest: p.manifest, file: p.file }]]));
  const requested = new Set();
  const server = createServer((req, res) => {
    try {
      serve(req, res);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e?.stack ?? e));
    }
  });
  function serve(req, res) {
    const url = new URL(req.url, 'http://x');
    const tar = /^\/-\/tarball\/(.+)\/([^/]+)\.tgz$/.exec(url.pathname);
    if (tar) {
      const entry = index.get(decodeURIComponent(tar[1]))?.get(decodeURIComponent(tar[2]));
      if (!entry) return notFound(res, `${tar[1]}@${tar[2]}`);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      if (entry.file) return void createReadStream(entry.file).pipe(res);
      // NOTE: an uncompressed tar with everything under package/, as in a registry tarball (npm accepts tar and tgz).
      // --hard-dereference: pnpm's store hard-links identical files, and npm skips hard-link entries of a tar.
      const child = spawn('tar', ['-c', '-C', entry.dir, '--transform', 's,^\\.,package,', '--owner=0', '--group=0', '--hard-dereference', '--exclude=./node_modules', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
      child.on('error', (e) => res.destroy(e)); // no tar: npm then reports the failed download
      child.stdout.pipe(res);
      return undefined;
    }
    const name = decodeURIComponent(url.pathname.slice(1));
    const versions = index.get(name);
    if (!versions) return notFound(res, name);
    requested.add(name);
    const base = `http://${req.headers.host}`;
    const out = { name, 'dist-tags': {}, versions: {} };
    let latest;
    for (const [version, entry] of versions) {
      const m = entry.manifest ?? readManifest(entry.dir);
      entry.manifest = m;
      const optional = Object.fromEntries(Object.entries(m.optionalDependencies ?? {}).filter(([dep]) => index.has(dep)));
      out.versions[version] = {
        ...pick(m, ['name', 'version', 'dependencies', 'peerDependencies', 'peerDependenciesMeta', 'bin', 'engines', 'os', 'cpu', 'libc', 'deprecated', 'license', 'type', 'main', 'exports']),
        ...(m.scripts && (m.scripts.install || m.scripts.preinstall || m.scripts.postinstall) ? { scripts: pick(m.scripts, ['preinstall', 'install', 'postinstall']), hasInstallScript: true } : {}),
        optionalDependencies: optional,
        dependencies: { ...m.dependencies, ...optional },
        dist: { tarball: `${base}/-/tarball/${encodeURIComponent(name)}/${encodeURIComponent(version)}.tgz` },
      };
      if (!latest || compareVersions(version, latest) > 0) latest = version;
    }
    out['dist-tags'].latest = latest;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    return undefined;
  }
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    requested,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

// --- Internal helpers ---

/** name -> version -> { dir } for every package folder in pnpm's virtual store. */
function indexStore(store) {
  const index = new Map();
  for (const id of readdirSync(store)) {
    const nm = join(store, id, 'node_modules');
    let entries;
    try {
      entries = readdirSync(nm);
    } catch {
      continue;
    }
    for (const e of entries) {
      const dirs = e.startsWith('@') ? safeReaddir(join(nm, e)).map((s) => join(nm, e, s)) : [join(nm, e)];
      for (const dir of dirs) {
        let st;
        try {
          st = lstatSync(dir);
        } catch {
          continue;
        }
        if (st.isSymbolicLink() || !st.isDirectory()) continue; // symlinks are this package's dependencies
        let m;
        try {
          m = readManifest(dir);
        } catch {
          continue;
        }
        if (!m.name || !m.version) continue;
        if (!index.has(m.name)) index.set(m.name, new Map());
        if (!index.get(m.name).has(m.version)) index.get(m.name).set(m.version, { dir });
      }
    }
  }
  return index;
}

function safeReaddir(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function readManifest(dir) {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
}

function pick(o, keys) {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

function notFound(res, what) {
  res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `${what} is not in the local store (node_modules/.pnpm); the doc-test installs offline` }));
}

/** Semver order (prereleases below their release), enough to pick dist-tags.latest. */
function compareVersions(a, b) {
  const pa = a.split(/[-+]/)[0].split('.').map(Number), pb = b.split(/[-+]/)[0].split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return (a.includes('-') ? 0 : 1) - (b.includes('-') ? 0 : 1);
}
