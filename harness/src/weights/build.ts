// Builds (or rebuilds) a pretrained weights package, packages/fer-weights-<name>, from a saved model folder:
// float16 (or uint8) weights, the accuracy of both the float32 and the quantized model on PublicTest and PrivateTest,
// results.json, MODEL_CARD.md generated from it, README.md, package.json, LICENSE and a changeset.
//
//   pnpm weights --model runs/best/model --name paper-deep [--dtype float16|uint8] [--interim "why"] [--data PATH]
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { splitIndices, type FerDataset } from '@fer/data';
import { bootstrapCI, confusionMatrix } from '@fer/metrics';
import { loadModel, predict, PRETRAINED_MODELS } from '@fer/models';
import { startBackend } from '../backend.js';
import { resolveData } from '../data.js';
import { FerCliError } from '../errors.js';
import { gather } from '../job/prepare.js';
import { quantizeModelFolder, type QuantizeDtype } from './quantize.js';
import { renderModelCard, renderReadme, type SplitResult, type WeightsResults } from './card.js';

export type { SplitResult, WeightsResults };

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');


async function measure(modelDir: string, quantDir: string, ds: FerDataset, split: 'PublicTest' | 'PrivateTest'): Promise<SplitResult> {
  const rows = gather(ds, splitIndices(ds, split));
  const n = rows.labels.length;
  const run = async (dir: string) => {
    const loaded = await loadModel(dir);
    try {
      return { labels: (await predict(loaded, rows.pixels, n)).labels, classNames: loaded.meta.classNames };
    } finally {
      loaded.model.dispose();
    }
  };
  const a = await run(modelDir), q = await run(quantDir);
  const numClasses = q.classNames.length;
  const rep = confusionMatrix({ actual: rows.labels, predicted: q.labels, numClasses, classNames: q.classNames });
  const repA = confusionMatrix({ actual: rows.labels, predicted: a.labels, numClasses, classNames: q.classNames });
  const ci = bootstrapCI({ actual: rows.labels, predicted: q.labels, numClasses, iterations: 1000, seed: 1 });
  let changed = 0;
  for (let i = 0; i < n; i++) if (a.labels[i] !== q.labels[i]) changed++;
  return {
    split, count: n, accuracyFloat32: repA.accuracy, accuracy: rep.accuracy, ci95: [ci.accuracy.lo, ci.accuracy.hi],
    perClass: rep.perClass.map((c) => ({ name: c.name, support: c.support, recall: c.recall, precision: c.precision, f1: c.f1 })),
    confusion: rep.counts, changedByQuantization: changed,
  };
}

/** Options of {@link buildWeightsPackage}. */
export interface BuildWeightsOptions {
  /** Saved model folder (fer train's OUT/model). */
  model: string;
  /** Package name suffix: @fer/weights-<name>. */
  name: string;
  dtype?: QuantizeDtype;
  /** Why this is an interim model (printed at the top of the card and README); null for a final one. */
  interim?: string | null;
  data?: string;
  /** Output folder (default packages/fer-weights-<name>). */
  out?: string;
  /** Allow the synthetic data set (tests only: a card from it says so). */
  allowSynthetic?: boolean;
  backend?: string;
  log?: (line: string) => void;
}

/** Builds the package folder and returns its results. */
export async function buildWeightsPackage(o: BuildWeightsOptions): Promise<WeightsResults> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (!(PRETRAINED_MODELS as readonly string[]).includes(o.name)) {
    throw new FerCliError('E_BAD_OPTION', `--name ${o.name}: expected one of ${PRETRAINED_MODELS.join(', ')} (@fer/models' PRETRAINED_MODELS, which loadPretrained knows).`);
  }
  const dtype = o.dtype ?? 'float16';
  if (dtype !== 'float16' && dtype !== 'uint8') throw new FerCliError('E_BAD_OPTION', `--dtype ${dtype}: expected float16 or uint8.`);
  const out = resolve(o.out ?? join(repoRoot, 'packages', `fer-weights-${o.name}`));
  const { ds, identity } = await resolveData(o.data, log);
  if (ds.synthetic && !o.allowSynthetic) throw new FerCliError('E_USAGE', 'pnpm weights: no FER2013 data (--data PATH or FER2013_PATH); a weights package is measured on the real PublicTest and PrivateTest.');
  await startBackend(o.backend ?? 'auto');
  await rm(join(out, 'model'), { recursive: true, force: true });
  const sizes = await quantizeModelFolder(o.model, join(out, 'model'), dtype);
  log(`weights: ${sizes.bytesBefore} bytes float32 -> ${sizes.bytesAfter} bytes ${dtype}`);
  const splits: SplitResult[] = [];
  for (const split of ['PublicTest', 'PrivateTest'] as const) {
    const r = await measure(o.model, join(out, 'model'), ds, split);
    log(`${split}: ${(100 * r.accuracy).toFixed(2)}% packaged, ${(100 * r.accuracyFloat32).toFixed(2)}% float32 (${r.changedByQuantization} of ${r.count} predictions changed)`);
    splits.push(r);
  }
  const meta = JSON.parse(await readFile(join(o.model, 'fer.json'), 'utf8'));
  const runConfig = await readFile(join(o.model, '..', 'config.json'), 'utf8').then((t) => JSON.parse(t), () => null);
  const results: WeightsResults = {
    name: o.name, modelName: meta.modelName, config: meta.config, classNames: meta.classNames, normalizer: { kind: meta.normalizer?.kind ?? 'unit' },
    dtype, bytesFloat32: sizes.bytesBefore, bytesPackaged: sizes.bytesAfter, interim: o.interim ?? null, data: identity,
    training: meta.training ?? null, run: runConfig, splits, builtAt: new Date().toISOString().slice(0, 10),
  };
  await writeFile(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const modelBytes = (await Promise.all(['model.json', 'weights.bin', 'fer.json'].map((f) => stat(join(out, 'model', f)).then((s) => s.size)))).reduce((a, b) => a + b, 0);
  await writeFile(join(out, 'MODEL_CARD.md'), renderModelCard(results, modelBytes));
  await writeFile(join(out, 'README.md'), renderReadme(results, modelBytes));
  await copyFile(join(repoRoot, 'LICENSE'), join(out, 'LICENSE'));
  const pkgPath = join(out, 'package.json');
  const version = existsSync(pkgPath) ? JSON.parse(await readFile(pkgPath, 'utf8')).version : '0.0.0';
  await writeFile(pkgPath, `${JSON.stringify({
    name: `@fer/weights-${o.name}`,
    version,
    description: `Pretrained ${meta.modelName} weights (${dtype}) for @fer/models: ${(100 * splits[1].accuracy).toFixed(1)}% on FER2013 PrivateTest${o.interim ? ' (interim model)' : ''}; see MODEL_CARD.md.`,
    type: 'module',
    license: 'MIT',
    exports: { './model/*': './model/*', './results.json': './results.json', './package.json': './package.json' },
    files: ['model', 'results.json', 'MODEL_CARD.md'],
    engines: { node: '>=20.19' },
    scripts: { 'test:build': 'publint --strict' },
    repository: { type: 'git', url: 'git+https://example.invalid/fer.git', directory: `packages/fer-weights-${o.name}` },
  }, null, 2)}\n`);
  const changeset = join(repoRoot, '.changeset', `fer-weights-${o.name}.md`);
  if (!o.out) { // (re)written on every build: it describes the model the package now holds
    await mkdir(dirname(changeset), { recursive: true });
    await writeFile(changeset, `---\n"@fer/weights-${o.name}": minor\n---\n\nPretrained ${meta.modelName} weights (${dtype}), ${(100 * splits[1].accuracy).toFixed(2)}% on FER2013 PrivateTest${o.interim ? ` (interim: ${o.interim})` : ''}; MODEL_CARD.md has the data, preprocessing, per-class results and limits.\n`);
  }
  log(`wrote ${out} (model ${modelBytes} bytes)`);
  return results;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' }, name: { type: 'string' }, dtype: { type: 'string', default: 'float16' },
      interim: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string', default: 'auto' },
    },
    strict: true,
  });
  if (!values.model || !values.name) {
    process.stderr.write('usage: pnpm weights --model DIR --name paper-deep|paper-shallow [--dtype float16|uint8] [--interim "why"] [--data PATH] [--out DIR]\n');
    process.exit(2);
  }
  buildWeightsPackage({ model: values.model, name: values.name, dtype: values.dtype as QuantizeDtype, interim: values.interim ?? null, data: values.data, out: values.out, backend: values.backend })
    .catch((e) => { process.stderr.write(`pnpm weights: error ${(e as { code?: string }).code ?? ''}: ${(e as Error).message}\n`); process.exit(1); });
}
