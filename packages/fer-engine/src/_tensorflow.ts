// The native TensorFlow backends (@tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node): optional, used only
// when the user has them installed with a working libtensorflow. Internal; see backend.ts.
import { createRequire } from 'node:module';
import { errorText } from './_webgpu.js';

/** Which native package provided the 'tensorflow' backend, or why none could. */
export type TensorflowLoad =
  | { ok: true; pkg: string; version: string }
  | { ok: false; tried: { pkg: string; why: string }[] };

/** The two native packages, GPU first. */
export const TENSORFLOW_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/**
 * Tries to import tfjs-node-gpu, then tfjs-node. Importing one registers the tfjs backend 'tensorflow'.
 * Never throws: returns what was tried and why it failed.
 */
export async function loadTensorflow(): Promise<TensorflowLoad> {
  const tried: { pkg: string; why: string }[] = [];
  for (const pkg of TENSORFLOW_PACKAGES) {
    try {
      await import(/* @vite-ignore */ pkg);
      return { ok: true, pkg, version: packageVersion(pkg) };
    } catch (e) {
      tried.push({ pkg, why: shortWhy(e, pkg) });
    }
  }
  return { ok: false, tried };
}

/** How to get a working tfjs-node(-gpu) although its libtensorflow download answers 403. */
export const TENSORFLOW_HELP =
  'tfjs-node and tfjs-node-gpu download libtensorflow 2.9.1 from storage.googleapis.com when installed, and that ' +
  'download now answers 403 (tensorflow/tfjs#8742), so a plain install fails. Fix: provide libtensorflow yourself: ' +
  '`npm i @tensorflow/tfjs-node-gpu --ignore-scripts`, unpack libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz (or a ' +
  'bazel-built libtensorflow.tar.gz) into node_modules/@tensorflow/tfjs-node-gpu/deps so that deps/lib/libtensorflow.so.2.9.1 ' +
  'exists, then run `node scripts/install.js` in that folder (it skips the download when the library is there and ' +
  'builds the addon); or point TFJS_NODE_CDN_STORAGE / TFJS_NODE_BASE_URI at a mirror that has the archive. ' +
  'Without it, use backend "webgpu" (GPU through Vulkan) or "wasm".';

// --- Internal helpers ---

function shortWhy(e: unknown, pkg: string): string {
  const code = (e as { code?: string }).code;
  const notFound = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
  if (notFound && errorText(e).includes(`'${pkg}'`)) return 'not installed';
  return errorText(e);
}

function packageVersion(name: string): string {
  try {
    return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
