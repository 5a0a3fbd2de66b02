// `fer` as users start it (harness/bin/fer.mjs: rebuilds what is stale, then runs harness/dist):
// --version, and a --help that lists every subcommand without loading any of them (nor tfjs).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CommandDef } from 'citty';
import { describe, expect, it } from 'vitest';

const harness = fileURLToPath(new URL('..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/fer.mjs', import.meta.url));
// Reports every @tensorflow/* or @fer/* module the process resolves, on stderr.
const HOOK = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent("export async function resolve(s, c, n) { const r = await n(s, c); if (/@tensorflow|@fer\\\\//.test(s)) process.stderr.write('loaded ' + s + '\\\\n'); return r; }"));`,
)}`;

function fer(args: string[], nodeArgs: string[] = []) {
  // NOTE: as from a shell: citty prints usage through consola, which is silent under a test runner's variables.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VITEST|TEST$|NODE_ENV$|FER_FROM_SOURCE$)/.test(k)));
  return spawnSync(process.execPath, [...nodeArgs, bin, ...args], { cwd: harness, env, encoding: 'utf8' });
}

describe('fer (built)', () => {
  it('--version prints the harness and package versions', () => {
    const r = fer(['--version']);
    expect(r.status, r.stderr).toBe(0);
    const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    expect(r.stdout).toMatch(new RegExp(`^fer ${version.replaceAll('.', '\\.')}\\n@fer/data \\d+\\.\\d+\\.\\d+, @fer/hog .*@tensorflow/tfjs 4\\.22\\.0; node ${process.versions.node}\\n$`));
  }, 600_000);

  it('--help lists every subcommand with its own description, loading none of them', async () => {
    const r = fer(['--help'], ['--import', HOOK]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/loaded /); // no @fer package, no tfjs
    // NOTE: under CI=true consola's basic reporter keeps citty's backticks (`fer data|...`) and adds "[log]"; strip them.
    const out = r.stdout.replaceAll('`', '');
    const names = /USAGE fer ([\w|-]+)/.exec(out)?.[1].split('|') ?? [];
    expect(names).toEqual(expect.arrayContaining(['data', 'train', 'sweep', 'evaluate', 'predict', 'reproduce']));
    for (const name of names) {
      const url = new URL(`./commands/${name}.ts`, import.meta.url).href;
      const cmd = ((await import(/* @vite-ignore */ url)) as { default: CommandDef }).default;
      const meta = (typeof cmd.meta === 'function' ? await cmd.meta() : await cmd.meta) as { description: string };
      expect(out.replace(/\s+/g, ' '), name).toContain(`${name} ${meta.description.replaceAll("`", "")}`.replace(/\s+/g, ' ')); // citty renders `code` without the backticks
    }
    expect(out).toMatch(/USAGE fer /);
  }, 600_000);

  it('a subcommand --help loads that subcommand', () => {
    const r = fer(['data', '--help'], ['--import', HOOK]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/loaded @fer\/data/);
    expect(r.stdout).toMatch(/fer data/);
  }, 600_000);
});
