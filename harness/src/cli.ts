#!/usr/bin/env node
// The `fer` command line. Each subcommand lives in its own file under ./commands/.
// Errors are printed once, as `fer: error <CODE>: <message>` (the message says what was got, what was
// expected and how to fix it), with exit code 1; `--debug` adds the stack and the causes.
import { createRequire } from 'node:module';
import { defineCommand, runCommand, showUsage, type ArgsDef, type CommandDef } from 'citty';
import { checkFlags } from './flags.js';
import { FerCliError } from './errors.js';
import { unknownNameHint } from './suggest.js';

const require = createRequire(import.meta.url);
const VERSION = (require('../package.json') as { version: string }).version;

const main = defineCommand({
  meta: { name: 'fer', version: VERSION, description: 'Facial-expression recognition on TensorFlow.js: data, training, evaluation and the paper reproduction. Add --debug to any command to see error stacks; --version prints the versions.' },
  subCommands: {
    data: () => import('./commands/data.js').then((m) => m.default),
    train: () => import('./commands/train.js').then((m) => m.default),
    sweep: () => import('./commands/sweep.js').then((m) => m.default),
    evaluate: () => import('./commands/evaluate.js').then((m) => m.default),
    predict: () => import('./commands/predict.js').then((m) => m.default),
    reproduce: () => import('./commands/reproduce.js').then((m) => m.default),
    worker: () => import('./commands/worker.js').then((m) => m.default),
    bench: () => import('./commands/bench.js').then((m) => m.default),
  },
});

/** One line per subcommand for `fer --help` (cli-start.test.ts checks they match the commands' own meta). */
const SUMMARIES: Record<string, CommandDef> = Object.fromEntries(Object.entries({
  data: 'Inspect FER data sets.',
  train: 'Train a registry model (its paper recipe by default: --preset paper) and save it with its resolved config (job hash), history and PublicTest metrics.',
  sweep: "The paper's validation search: grid or seeded random trials over any --set key, optionally cut early by ASHA; resumable, ranked by PublicTest accuracy.",
  evaluate: 'Accuracy, per-class accuracy and the confusion matrix of a saved model on a split.',
  predict: 'Finds the faces in PNG/JPEG pictures of any size (BlazeFace) and gives each its top-3 expressions; --no-detect for 48x48 face crops.',
  reproduce: "Re-do every table and figure of Alizadeh & Fazel 2017 and write report.md / report.html next to the paper's numbers.",
  bench: 'Benchmarks as JSON lines, each beside its reference peer (PyTorch, pandas, scikit-image) measured in the same run. `pnpm bench` is an alias.',
  worker: 'Run training jobs that `pnpm reproduce --queue` / `fer sweep --queue` put on a Redis queue (BullMQ); results go to the shared results folder. See docs/distributed.md.',
}).map(([name, description]) => [name, { meta: { name, description } }]));

await runCli(main, process.argv.slice(2));

/** Runs `cmd` like citty's runMain, but prints an error once (no framework stack) unless `--debug`. */
async function runCli(cmd: CommandDef, argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  const rawArgs = argv.filter((a) => a !== '--debug');
  try {
    // NOTE: `fer --version` / `fer --help` load no subcommand: citty's usage would import every one of them
    // (and with them tfjs) just to print their descriptions, about 0.5 s.
    const first = rawArgs.find((a) => !a.startsWith('-'));
    if (!first && (rawArgs.includes('--version') || rawArgs.includes('-v'))) {
      process.stdout.write(`${versionText()}\n`);
      return;
    }
    if (!first && (rawArgs.includes('--help') || rawArgs.includes('-h'))) {
      await showUsage(defineCommand({ meta: main.meta, subCommands: SUMMARIES }));
      return;
    }
    if (rawArgs.includes('--help') || rawArgs.includes('-h')) {
      await showUsage(...(await usageTarget(cmd, rawArgs)));
      return;
    }
    await checkCommand(cmd, rawArgs);
    await checkCommandFlags(cmd, rawArgs);
    await runCommand(cmd, { rawArgs });
  } catch (e) {

    // NOTE: citty's own errors (unknown command, missing argument) come with the usage of the command.
    if ((e as Error)?.name === 'CLIError') await showUsage(...(await usageTarget(cmd, rawArgs))).catch(() => undefined);
    process.stderr.write(`${formatError(e, debug)}\n`);
    process.exit(1);
  }
}

/** `fer 0.0.0` and the versions of the packages it runs on (read from their package.json files, nothing loaded). */
function versionText(): string {
  const pkgs = ['@fer/data', '@fer/hog', '@fer/metrics', '@fer/models', '@fer/engine', '@tensorflow/tfjs'].map((name) => {
    try {
      return `${name} ${(require(`${name}/package.json`) as { version: string }).version}`;
    } catch {
      return `${name} (not installed)`;
    }
  });
  return `fer ${VERSION}\n${pkgs.join(', ')}; node ${process.versions.node}`;
}

/** `fer: error <CODE>: <message>`; with `debug`, the stack and every cause's stack follow. */
function formatError(e: unknown, debug: boolean): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const raw = (err as Error & { code?: unknown }).code;
  const code = typeof raw === 'string' ? raw : undefined;
  const lines = [`fer: error${code ? ` ${code}` : ''}: ${err.message}`];
  if (debug) {
    for (let c: unknown = err, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) {
      lines.push(depth === 0 ? '' : `caused by: ${c.message}`, (c.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)).join('\n'));
    }
  } else if (!code) {
    lines.push('(run again with --debug for the stack)');
  }
  return lines.filter((l, i) => i === 0 || l !== '').join('\n');
}

/**
 * An unknown (sub)command is named with the nearest known one (`fer trian` -> did you mean "train"?), before
 * citty would print the whole usage and `Unknown command trian`.
 */
async function checkCommand(cmd: CommandDef, rawArgs: string[], path = 'fer'): Promise<void> {
  const subs = (typeof cmd.subCommands === 'function' ? await cmd.subCommands() : await cmd.subCommands) as Record<string, unknown> | undefined;
  if (!subs || path === 'fer bench') return;
  const name = rawArgs.find((a) => !a.startsWith('-'));
  if (name === undefined) return;
  if (!(name in subs)) {
    throw new FerCliError('E_UNKNOWN_COMMAND', `${path} ${name}: unknown command.${unknownNameHint(name, Object.keys(subs), `\`${path} --help\` says what each does.`)}`);
  }
  const sub = subs[name];
  const resolved = (typeof sub === 'function' ? await (sub as () => Promise<CommandDef>)() : await sub) as CommandDef;
  await checkCommand(resolved, rawArgs.slice(rawArgs.indexOf(name) + 1), `${path} ${name}`);
}

/** A (sub)command's unknown flags are named with the nearest known one (src/flags.ts); `fer bench` checks its own. */
async function checkCommandFlags(cmd: CommandDef, rawArgs: string[], path = 'fer'): Promise<void> {
  const subs = (typeof cmd.subCommands === 'function' ? await cmd.subCommands() : await cmd.subCommands) as Record<string, unknown> | undefined;
  if (subs) {
    const name = rawArgs.find((a) => !a.startsWith('-'));
    if (!name || !(name in subs) || path === 'fer bench' || `${path} ${name}` === 'fer bench') return;
    const sub = subs[name];
    const resolved = (typeof sub === 'function' ? await (sub as () => Promise<CommandDef>)() : await sub) as CommandDef;
    await checkCommandFlags(resolved, rawArgs.slice(rawArgs.indexOf(name) + 1), `${path} ${name}`);
    return;
  }
  const args = (typeof cmd.args === 'function' ? await cmd.args() : await cmd.args) ?? {};
  // A command with --set: `--epochs 3` says `did you mean --set epochs=3`.
  let setKeys: string[] | undefined;
  if ('set' in args) {
    const { SET_ALIASES, settingKeys } = await import('./job/overrides.js');
    setKeys = [...Object.keys(SET_ALIASES).filter((k) => !k.includes('.')), ...Object.keys(settingKeys())];
  }
  checkFlags(path, rawArgs, args as ArgsDef as Record<string, { type?: string }>, setKeys ? { setKeys } : {});
}

/** The deepest (sub)command the arguments name, and its parent: `fer data stats --help` is stats' own help. */
async function usageTarget(cmd: CommandDef, rawArgs: string[], parent?: CommandDef): Promise<[CommandDef, CommandDef?]> {
  const subs = (typeof cmd.subCommands === 'function' ? await cmd.subCommands() : await cmd.subCommands) ?? {};
  const name = rawArgs.find((a) => !a.startsWith('-'));
  const sub = name ? (subs as Record<string, unknown>)[name] : undefined;
  if (!sub) return parent ? [cmd, parent] : [cmd];
  const resolved = (typeof sub === 'function' ? await (sub as () => Promise<CommandDef>)() : await sub) as CommandDef;
  return usageTarget(resolved, rawArgs.slice(rawArgs.indexOf(name!) + 1), cmd);
}
