// `pnpm bench accuracy [--recipe ci|shallow|deep] [--epochs N] [--limit N] [--seed N] [--data PATH]
//                      [--backend wasm|cpu|webgpu] [--peer-malloc jemalloc|glibc] [--no-torch]`
// Trains one recipe with our stack (`fer train`: @fer/data batches, @fer/models trainer, @fer/engine
// kernels) and with the PyTorch peer (harness/peers/torch_train.py: same layers, initializers, optimizer,
// L2, BN momentum, normalization and flips) on the real FER2013, then scores both on PublicTest and
// PrivateTest. Prints one JSON line each, then one comparison line. Needs FER2013_PATH or --data. The peer runs
// at its best (./_peer.ts: jemalloc preloaded where installed; its line says which malloc); lines carry `load`.
//
// Recipes (all on FER2013 Training; `--epochs` and `--limit` override):
//   ci       the CI real-data test's width-reduced paper-shallow: 4/8 filters, 64 units, 2 epochs, batch 64, Adam 1e-3
//   shallow  paper-shallow at full width, the paper preset (batch 128, Adam 1e-4), hflip, 1 epoch
//   deep     paper-deep at full width, the paper preset, hflip, 1 epoch
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runEvaluate } from '../commands/evaluate.js';
import { runTrain } from '../commands/train.js';
import { dataPath } from '../data.js';
import { forEachFlag, unknownFlag } from '../flags.js';
import { out, positiveInt } from './_cli.js';
import { loadNow, parsePeerMalloc, peerEnv, type PeerMalloc } from './_peer.js';

interface Recipe {
  model: 'paper-shallow' | 'paper-deep';
  /** `fer train --set` values; the peer gets the same numbers through `torch` below. */
  sets: string[];
  torch: string[];
  epochs: number;
}

/** One table for both sides, so the two recipes cannot drift apart. */
export const RECIPES: Record<'ci' | 'shallow' | 'deep', Recipe> = {
  ci: {
    model: 'paper-shallow', epochs: 2,
    sets: ['model.filters=[4,8]', 'model.denseUnits=64', 'model.convDropout=0', 'model.denseDropout=0.2', 'batch=64', 'lr=1e-3', 'data.normalizer=mean-image', 'augment=', 'data.validationLimit=500'],
    torch: ['--model', 'shallow', '--filters', '4,8', '--units', '64', '--conv-dropout', '0', '--dense-dropout', '0.2', '--batch', '64', '--lr', '1e-3', '--flip', '0'],
  },
  shallow: {
    model: 'paper-shallow', epochs: 1,
    sets: ['data.normalizer=mean-image', 'data.augment=[{"name":"hflip"}]'],
    torch: ['--model', 'shallow', '--batch', '128', '--lr', '1e-4', '--flip', '1'],
  },
  deep: {
    model: 'paper-deep', epochs: 1,
    sets: ['data.normalizer=mean-image', 'data.augment=[{"name":"hflip"}]'],
    torch: ['--model', 'deep', '--batch', '128', '--lr', '1e-4', '--flip', '1'],
  },
};

interface Options {
  recipe: string;
  epochs?: number;
  limit: number;
  seed: number;
  data?: string;
  backend: string;
  torch: boolean;
  peerMalloc: PeerMalloc;
}

export async function run(argv: string[]): Promise<void> {
  const o = parseArgs(argv);
  const recipe = RECIPES[o.recipe as keyof typeof RECIPES];
  const epochs = o.epochs ?? recipe.epochs;
  const data = dataPath(o.data);
  if (!data || !existsSync(data)) {
    out({ bench: 'accuracy', skipped: `no FER2013 file (${data ?? 'set FER2013_PATH or pass --data'}); this benchmark needs the real data` });
    return;
  }
  const common = { bench: 'accuracy', recipe: o.recipe, model: recipe.model, epochs, limit: o.limit, seed: o.seed };
  const ours = await runOurs(recipe, epochs, o, data);
  out({ ...common, impl: 'ours', backend: o.backend, ...ours, load: loadNow() });
  if (!o.torch) return;
  const peer = runPeer(recipe, epochs, o, data);
  if ('skipped' in peer) {
    out({ ...common, impl: 'pytorch', skipped: peer.skipped });
    return;
  }
  out({ ...common, impl: 'pytorch', ...peer, load: loadNow() });
  out({
    ...common, compare: 'ours - pytorch',
    publicTest_points: round((ours.publicTest - peer.publicTest) * 100, 2),
    privateTest_points: round((ours.privateTest - peer.privateTest) * 100, 2),
    train_speed_ratio: round(ours.trainImgPerS / peer.trainImgPerS, 3),
  });
}

async function runOurs(recipe: Recipe, epochs: number, o: Options, data: string) {
  const dir = await mkdtemp(join(tmpdir(), 'fer-bench-accuracy-'));
  try {
    const sets = [...recipe.sets, `epochs=${epochs}`, `seed=${o.seed}`, ...(o.limit ? [`limit=${o.limit}`] : [])];
    const t0 = performance.now();
    const { metrics, outcome } = await runTrain({ model: recipe.model, data, sets, out: dir, backend: o.backend, log: () => undefined, onProgress: () => undefined });
    if (!metrics) throw new Error(`${recipe.model}: training stopped before its last epoch`);
    const wall = (performance.now() - t0) / 1000;
    const priv = await runEvaluate({ model: join(dir, 'model'), data, split: 'PrivateTest', backend: o.backend, log: () => undefined });
    // NOTE: the trainer's seconds include each epoch's validation pass; the peer's trainImgPerS does not.
    const trainSeconds = outcome.history.reduce((s, h) => s + h.seconds, 0);
    return {
      trainRows: metrics.trainRows,
      history: outcome.history.map((h) => ({ epoch: h.epoch, loss: round(h.loss, 4), accuracy: round(h.accuracy, 4), valAccuracy: h.valAccuracy === null ? null : round(h.valAccuracy, 4) })),
      publicTest: metrics.accuracy,
      privateTest: priv.report.accuracy,
      trainImgPerS: round((metrics.trainRows * epochs) / trainSeconds, 2),
      wallSeconds: round(wall, 1),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runPeer(recipe: Recipe, epochs: number, o: Options, data: string): { publicTest: number; privateTest: number; trainImgPerS: number; [k: string]: unknown } | { skipped: string } {
  const python = '/usr/bin/python3';
  const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../peers/torch_train.py');
  if (!existsSync(python)) return { skipped: `no ${python}` };
  const check = spawnSync(python, ['-c', 'import torch, pandas'], { encoding: 'utf8' });
  if (check.status !== 0) return { skipped: `${python} lacks torch or pandas (apt install python3-torch python3-pandas)` };
  const args = [script, '--data', data, ...recipe.torch, '--epochs', String(epochs), '--seed', String(o.seed), '--limit', String(o.limit), '--threads', '1'];
  const { env, malloc } = peerEnv({ malloc: o.peerMalloc });
  const r = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 16 << 20, env });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) return { skipped: `torch_train.py exited ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-1)[0]}` };
  const j = JSON.parse(line) as Record<string, unknown> & { publicTest: number; privateTest: number; trainImgPerS: number; recipe?: unknown };
  delete j.recipe;
  return { ...j, malloc, trainImgPerS: round(j.trainImgPerS, 2), wallSeconds: round(j.wallSeconds as number, 1) };
}

// --- Internal helpers ---

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { recipe: 'ci', limit: 0, seed: 2, backend: 'wasm', torch: true, peerMalloc: 'jemalloc' };
  const KNOWN = ['--recipe', '--epochs', '--limit', '--seed', '--data', '--backend', '--peer-malloc', '--no-torch'];
  forEachFlag(argv, (flag, value) => {
    switch (flag) {
      case '--recipe': {
        o.recipe = value();
        if (!(o.recipe in RECIPES)) throw new Error(`--recipe: got "${o.recipe}", expected one of ${Object.keys(RECIPES).join(', ')}.`);
        break;
      }
      case '--epochs': o.epochs = positiveInt(flag, value()); break;
      case '--limit': o.limit = positiveInt(flag, value()); break;
      case '--seed': o.seed = positiveInt(flag, value()); break;
      case '--data': o.data = value(); break;
      case '--backend': o.backend = value(); break;
      case '--peer-malloc': o.peerMalloc = parsePeerMalloc(flag, value()); break;
      case '--no-torch': o.torch = false; break;
      default: throw unknownFlag('fer bench accuracy', flag, KNOWN);
    }
  }, { command: 'fer bench accuracy', known: KNOWN });
  return o;
}
