// The one flag parser of the harness: every `fer` command (checked against its citty argument definitions
// in cli.ts) and every `fer bench <name>` walk their arguments with forEachFlag, and an unknown flag is named
// with the nearest known one (`--modle` -> did you mean --model?).
import { FerCliError } from './errors.js';
import { didYouMean, setFlagHint } from './suggest.js';

/**
 * `<command>: unknown flag --x. Did you mean --y? Known flags: ...` as E_BAD_OPTION. With `setKeys` (a command
 * that takes `--set`), a flag naming a setting says `Did you mean --set epochs=3?` instead.
 */
export function unknownFlag(command: string, flag: string, known: readonly string[], shown: readonly string[] = known, set?: { keys: Iterable<string>; value?: string }): FerCliError {
  const name = flag.replace(/^--?/, '');
  const names = known.filter((k) => k.startsWith('--')).map((k) => k.slice(2));
  const hint = (set && setFlagHint(name, set.keys, set.value)) || didYouMean(name, names, (c) => `--${c}`);
  return new FerCliError('E_BAD_OPTION', `${command}: unknown flag ${flag}.${hint} Known flags: ${shown.join(', ')}.`);
}

/**
 * Walks `argv`, calling `onFlag(flag, value, arg)` for each flag (`--name`, `--name=value`); `value()` reads the
 * flag's value from `=value` or the next argument (throws E_BAD_OPTION when there is none). Arguments that are not
 * flags go to `onPositional` (or, without it, throw E_USAGE). With `known`, a flag not in it throws
 * {@link unknownFlag} before `onFlag` sees it.
 * @example
 * forEachFlag(argv, (flag, value) => { if (flag === '--steps') steps = Number(value()); }, { command: 'fer bench models', known: ['--steps'] });
 */
export function forEachFlag(
  argv: readonly string[],
  onFlag: (flag: string, value: () => string, arg: string) => void,
  o: { command?: string; known?: readonly string[]; shown?: readonly string[]; onPositional?: (arg: string) => void; setKeys?: Iterable<string> } = {},
): void {
  const command = o.command ?? 'fer';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || a === '-' || /^-\d/.test(a)) {
      if (o.onPositional) o.onPositional(a);
      else throw new FerCliError('E_USAGE', `${command}: got an argument "${a}" where a flag was expected${o.known ? `; known flags: ${o.known.join(', ')}` : ''}.`);
      continue;
    }
    const eq = a.indexOf('=');
    const [flag, inline] = eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (o.known && !o.known.includes(flag)) {
      const next = argv[i + 1];
      const value = inline ?? (next !== undefined && !next.startsWith('--') ? next : undefined);
      throw unknownFlag(command, flag, o.known, o.shown, o.setKeys ? { keys: o.setKeys, value } : undefined);
    }
    onFlag(flag, () => {
      const v = inline ?? argv[++i];
      if (v == null) throw new FerCliError('E_BAD_OPTION', `${command}: ${flag} needs a value.`);
      return v;
    }, a);
  }
}

/** A citty argument definition, as far as the flag check needs it. */
interface ArgDef { type?: string; alias?: string | string[] }

/**
 * Checks a citty command's raw arguments: every flag must be one of `args` (kebab or camel case, `--no-x` for
 * booleans), `--help`/`-h` or `--debug`; string flags take the next argument as their value. Unknown flags
 * throw {@link unknownFlag}. A positional argument to a command that defines none is E_USAGE (citty ignores it).
 */
export function checkFlags(command: string, rawArgs: readonly string[], args: Record<string, ArgDef>, o: { setKeys?: Iterable<string> } = {}): void {
  const known: string[] = ['--help', '-h', '--debug'];
  const shown: string[] = [];
  const valued = new Set<string>();
  const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  for (const [name, def] of Object.entries(args)) {
    if (def.type === 'positional') continue;
    shown.push(`--${name}`);
    const names = [...new Set([name, kebab(name), camel(name), ...[def.alias ?? []].flat()])];
    for (const n of names) {
      const f = n.length === 1 ? `-${n}` : `--${n}`;
      known.push(f);
      if (def.type === 'boolean') known.push(`--no-${n}`);
      else valued.add(f);
    }
  }
  // A command that takes no positional argument would ignore one silently (citty does): `fer data stats imgs`
  // showed the synthetic set. It is refused, with the flag it was probably meant for.
  const takesPositional = Object.values(args).some((d) => d.type === 'positional');
  const onPositional = (a: string): void => {
    if (takesPositional) return;
    const hint = 'data' in args ? ` Did you mean --data ${a}?` : '';
    throw new FerCliError('E_USAGE', `${command}: unexpected argument "${a}": ${command} takes flags only.${hint} \`${command} --help\` lists them.`);
  };
  forEachFlag(rawArgs, (flag, value, arg) => {
    if (valued.has(flag) && !arg.includes('=')) value();
  }, { command, known, shown: [...shown, '--help', '--debug'], onPositional, ...(o.setKeys ? { setKeys: o.setKeys } : {}) });
}

/** Flags several `fer` commands share, defined once (citty argument definitions). */
export const SHARED_ARGS = {
  data: { type: 'string', description: 'data set: FER2013 csv(.gz), a train/test pair or an image folder (@fer/data); default FER2013_PATH, else the synthetic faces (`--data synthetic` forces them)' },
  backend: { type: 'string', description: 'auto | wasm | cpu | webgpu | tensorflow', default: 'auto' },
  config: { type: 'string', description: 'fer.config file registering user models (default: fer.config.ts/.mjs/.js in the current folder)' },
  set: { type: 'string', description: 'override, repeatable: train.<k>=v, model.<k>=v, seed=N, modelScale=F or an alias (lr, epochs, batch, optimizer, normalizer, augment, limit, l2, dropout, units)' },
} as const;

/**
 * A whole-number flag value in `[min, max]` (E_BAD_OPTION naming the flag, the value and the range otherwise);
 * `undefined` stays undefined. `--workers abc`, `--workers 0` and `--workers -3` are refused, not written to a config.
 * @example
 * intFlag(args.workers, '--workers', { min: 1 }) // 2, or throws "--workers 0: expected a whole number >= 1, e.g. --workers 1."
 */
export function intFlag(v: unknown, flag: string, o: { min?: number; max?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const s = String(v).trim();
  const n = s === '' ? NaN : Number(s);
  const min = o.min ?? -Infinity, max = o.max ?? Infinity;
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = Number.isFinite(max) ? `between ${min} and ${max}` : `>= ${min}`;
    throw new FerCliError('E_BAD_OPTION', `${flag} ${JSON.stringify(String(v))}: expected a whole number ${range}, e.g. ${flag} ${Math.max(min, Math.min(max, 1))}.`);
  }
  return n;
}
