// User models in the CLI: a `fer.config.ts` / `.mjs` / `.js` in the folder the command runs in (or
// `--config PATH`) registers models (and optionally experiments) next to the built-ins, for `fer train`,
// `fer sweep`, `fer evaluate` and `pnpm reproduce` (each registered model also gets a row in the zoo experiment).
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { builtinModels, createRegistry, defineModel, modelRecipe, scaleWidths, type ModelDef, type ModelRegistry } from '@fer/models';
import { experiments as builtinExperiments } from '../experiments/index.js';
import { FerCliError } from './errors.js';
import { requireModel } from './job/resolve.js';
import { defineExperiment, modelRow, reportedNumbers, validateExperiment, type ExperimentSpec } from './job/spec.js';

export { requireModel };
import { didYouMean } from './suggest.js';

/** How long loading a fer.config file (its import and its default-export function) may take, in ms (env FER_CONFIG_TIMEOUT_MS replaces it). */
export const CONFIG_LOAD_TIMEOUT_MS = 60_000;

/** File names looked for, in this order, in the folder a command runs in. */
export const CONFIG_FILES = ['fer.config.ts', 'fer.config.mjs', 'fer.config.js'] as const;

/** What a fer.config file gives. */
export interface FerConfig {
  /** Model definitions (@fer/models `defineModel`); names must not clash with the built-ins. */
  models?: ModelDef<any>[];
  /** Extra experiments for `pnpm reproduce` (`defineExperiment`), with ids of their own. */
  experiments?: ExperimentSpec[];
}

/** What a config's default export may be a function of: the harness's own tfjs and helpers (one tfjs instance). */
export interface FerConfigHelpers {
  tf: typeof tf;
  defineModel: typeof defineModel;
  scaleWidths: typeof scaleWidths;
  defineExperiment: typeof defineExperiment;
  modelRow: typeof modelRow;
  reportedNumbers: typeof reportedNumbers;
}

/** A config file's default export: the config, or a function of {@link FerConfigHelpers} returning it. */
export type FerConfigExport = FerConfig | ((helpers: FerConfigHelpers) => FerConfig | Promise<FerConfig>);

/** Typed identity for fer.config.ts files. */
export function defineConfig(config: FerConfigExport): FerConfigExport {
  return config;
}

/** The models and experiments a command works with. */
export interface Project {
  registry: ModelRegistry;
  /** The built-in experiments (the zoo with a row per user model) and the config's own. */
  experiments: ExperimentSpec[];
  /** Names of the models the config registered. */
  userModels: string[];
  /** The config file read, if any. */
  configFile?: string;
}

/**
 * Reads `config` (a path, relative to `cwd`), else the first of {@link CONFIG_FILES} in `cwd`, else nothing:
 * the built-in models and experiments. A named file that does not exist, a bad export, unknown keys, a model
 * that fails `defineModel` or clashes with a built-in name, and an experiment that fails validation all throw.
 */
export async function loadProject(o: { config?: string; cwd?: string; timeoutMs?: number } = {}): Promise<Project> {
  const cwd = o.cwd ?? process.env.INIT_CWD ?? process.cwd();
  let file: string | undefined;
  if (o.config) {
    file = isAbsolute(o.config) ? o.config : resolve(cwd, o.config);
    if (!existsSync(file)) throw new FerCliError('E_FS', `--config ${o.config}: no such file (looked at ${file}); expected a fer.config.ts/.mjs/.js file. Check the path.`);
  } else {
    file = CONFIG_FILES.map((n) => resolve(cwd, n)).find((p) => existsSync(p));
  }
  const registry = createRegistry(builtinModels);
  if (!file) return { registry, experiments: [...builtinExperiments], userModels: [] };

  const timeoutMs = o.timeoutMs ?? (Number(process.env.FER_CONFIG_TIMEOUT_MS) > 0 ? Number(process.env.FER_CONFIG_TIMEOUT_MS) : CONFIG_LOAD_TIMEOUT_MS);
  const path = file;
  let mod: Record<string, unknown>;
  useHarnessPackages();
  try {
    mod = await settleWithin(file.endsWith('.ts') || file.endsWith('.mts')
      ? (async () => await (await import('tsx/esm/api')).tsImport(pathToFileURL(path).href, import.meta.url) as Record<string, unknown>)()
      : import(pathToFileURL(file).href) as Promise<Record<string, unknown>>, timeoutMs, file, 'loading it (its top-level code and any top-level await)');
  } catch (e) {
    if (e instanceof FerCliError) throw e;
    throw new FerCliError('E_BAD_CONFIG_FILE', `${file}: could not be loaded (${(e as Error)?.message ?? String(e)}); expected an ES module whose default export is { models, experiments } or a function returning it.`, { cause: e });
  }
  let exported = (mod.default ?? mod) as unknown;
  // NOTE: a .ts config outside an ES-module package comes back through CommonJS interop: { default: <export> }.
  if (exported && typeof exported === 'object' && 'default' in exported && !('models' in exported)) exported = (exported as { default: unknown }).default;
  let config: FerConfig;
  try {
    config = (typeof exported === 'function'
      ? await settleWithin(Promise.resolve().then(() => (exported as (h: FerConfigHelpers) => FerConfig | Promise<FerConfig>)({ tf, defineModel, scaleWidths, defineExperiment, modelRow, reportedNumbers })), timeoutMs, file, 'running its default-export function')
      : exported) as FerConfig;
  } catch (e) {
    if (e instanceof FerCliError) throw e;
    throw new FerCliError('E_BAD_CONFIG_FILE', `${file}: its default-export function threw (${(e as Error)?.message ?? String(e)}); expected it to return { models, experiments }. Fix the file (run with --debug for the stack).`, { cause: e });
  }
  if (typeof config !== 'object' || config === null) throw new FerCliError('E_BAD_CONFIG_FILE', `${file}: the default export gave ${typeof config}, expected { models?: [...], experiments?: [...] }.`);
  for (const k of Object.keys(config)) {
    if (k !== 'models' && k !== 'experiments') throw new FerCliError('E_BAD_OPTION', `${file}: unknown key "${k}".${didYouMean(k, ['models', 'experiments'])} Allowed keys: models, experiments.`);
  }
  const models = config.models ?? [];
  if (!Array.isArray(models)) throw new FerCliError('E_BAD_CONFIG_FILE', `${file}: models is ${typeof models}, expected an array of defineModel({...}) definitions.`);
  const seen = new Set<string>();
  for (const def of models) {
    if (seen.has((def as ModelDef).name)) {
      throw new FerCliError('E_BAD_CONFIG_FILE', `${file}: model "${def.name}" is listed twice in models; expected each model once. Remove one (or rename it).`);
    }
    seen.add((def as ModelDef).name);
    if (registry.has((def as ModelDef).name)) {
      throw new FerCliError('E_BAD_CONFIG_FILE', `${file}: model "${def.name}" is already a built-in model; expected a new name. Rename it (e.g. "my-${def.name}").`);
    }
    registry.register(def);
    modelRecipe(def); // checks the recipe now, not at the first run
  }
  const userModels = models.map((d) => d.name);
  const experiments = builtinExperiments.map((e) => (e.id === 'zoo' && userModels.length ? { ...e, rows: [...e.rows, ...models.map((d) => modelRow(d))] } : e));
  for (const e of config.experiments ?? []) {
    validateExperiment(e, registry.list());
    if (experiments.some((x) => x.id === e.id)) throw new FerCliError('E_BAD_CONFIG_FILE', `${file}: experiment "${e.id}" already exists; expected a new id.`);
    experiments.push(e);
  }
  return { registry, experiments, userModels, configFile: file };
}

/**
 * `p`, or E_BAD_CONFIG_FILE once `ms` have passed (a top-level await that never settles would otherwise hang the
 * command, or end it with exit code 13 and no word). The timer keeps the process alive until then.
 */
async function settleWithin<T>(p: Promise<T>, ms: number, file: string, phase: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new FerCliError('E_BAD_CONFIG_FILE', `${file}: ${phase} did not finish within ${ms / 1000} s; expected the module to load and give { models, experiments } promptly. Look for a top-level await (or a promise returned by the default export) that never settles, e.g. waiting on a server or on input.`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The folder of the monorepo this harness runs from (a module importing from outside it is a user's file). */
const REPO_ROOT = pathToFileURL(`${resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')}/`).href;

/**
 * A module hook (node:module `register`): `@tensorflow/tfjs*` and `@fer/*` imported by a file outside this
 * repository (a fer.config in the user's own folder, and whatever it imports) resolve to the harness's own copies.
 * So a config needs no `npm install` of its own, and one that has one still runs on the harness's single tfjs
 * (two copies register every kernel twice and their layers cannot meet). Registered once, before the first config.
 */
let hooked = false;
export function useHarnessPackages(): void {
  if (hooked) return;
  hooked = true;
  const hook = `
    let root, base;
    export function initialize(d) { root = d.root; base = d.base; }
    const SHARED = /^(@tensorflow\\/tfjs(-[\\w.-]+)?|@fer\\/[\\w.-]+)(\\/.*)?$/;
    export async function resolve(specifier, context, next) {
      if (SHARED.test(specifier) && context.parentURL && !context.parentURL.startsWith(root)) {
        return next(specifier, { ...context, parentURL: base });
      }
      return next(specifier, context);
    }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`, { data: { root: REPO_ROOT, base: import.meta.url } });
}
