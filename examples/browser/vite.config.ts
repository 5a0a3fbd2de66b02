// The demo page (index.html, src/main.ts) as static files in dist/: `pnpm build` here (or `pnpm build` at the root).
// The models are served with the page, nothing comes from a remote hub: the installed packages' files, the
// pretrained expression model of @fer/weights-paper-shallow to models/fer/ and @fer/face's vendored BlazeFace to
// models/blazeface/.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { defineConfig, type Plugin } from 'vite';

const require = createRequire(import.meta.url);
/** Page path -> the installed package file it serves. */
const MODEL_FILES: Record<string, string> = {
  'models/blazeface/blazeface.json': '@fer/face/models/blazeface.json',
  'models/blazeface/blazeface.bin': '@fer/face/models/blazeface.bin',
  'models/fer/fer.json': '@fer/weights-paper-shallow/model/fer.json',
  'models/fer/model.json': '@fer/weights-paper-shallow/model/model.json',
  'models/fer/weights.bin': '@fer/weights-paper-shallow/model/weights.bin',
};

/** Serves (dev) and emits (build) the packages' model files at their page paths. */
function modelFiles(): Plugin {
  const read = (path: string) => readFileSync(require.resolve(MODEL_FILES[path]));
  return {
    name: 'fer-model-files',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = Object.keys(MODEL_FILES).find((p) => req.url?.split('?')[0].endsWith(`/${p}`));
        if (!path) return next();
        res.setHeader('content-type', path.endsWith('.json') ? 'application/json' : 'application/octet-stream');
        res.end(read(path));
      });
    },
    generateBundle() {
      for (const path of Object.keys(MODEL_FILES)) this.emitFile({ type: 'asset', fileName: path, source: read(path) });
    },
  };
}

export default defineConfig({
  // Relative URLs: dist/ works from any folder of any static host.
  base: './',
  plugins: [modelFiles()],
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
});
