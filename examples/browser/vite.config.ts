// The demo page (index.html, src/main.ts) as static files in dist/: `pnpm build` here (or `pnpm build` at the root).
// The models are served with the page, nothing comes from a remote hub: the expression model in public/models/fer/
// (copied as is) and @fer/face's vendored BlazeFace files, copied from the installed package to models/blazeface/.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { defineConfig, type Plugin } from 'vite';

const require = createRequire(import.meta.url);
const BLAZEFACE = ['blazeface.json', 'blazeface.bin'];

/** Serves (dev) and emits (build) @fer/face's model files as models/blazeface/<name>. */
function blazeFaceFiles(): Plugin {
  const read = (name: string) => readFileSync(require.resolve(`@fer/face/models/${name}`));
  return {
    name: 'fer-blazeface-files',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = BLAZEFACE.find((n) => req.url?.endsWith(`/models/blazeface/${n}`));
        if (!name) return next();
        res.setHeader('content-type', name.endsWith('.json') ? 'application/json' : 'application/octet-stream');
        res.end(read(name));
      });
    },
    generateBundle() {
      for (const name of BLAZEFACE) this.emitFile({ type: 'asset', fileName: `models/blazeface/${name}`, source: read(name) });
    },
  };
}

export default defineConfig({
  // Relative URLs: dist/ works from any folder of any static host.
  base: './',
  plugins: [blazeFaceFiles()],
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
});
