#!/usr/bin/env node
// The `fer` command: runs the harness CLI from its built output (harness/dist, built by tsup like the
// packages), first rebuilding whatever is out of date (a package whose sources are newer than its dist, or the
// harness itself), so `pnpm fer` works right after `pnpm install` and after any edit.
// FER_FROM_SOURCE=1 runs the TypeScript sources through tsx instead (slower start, no build).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

if (process.env.FER_FROM_SOURCE === '1') {
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--conditions=@fer/source', '--import', 'tsx', cli, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
// `fer --help | head`: a closed pipe ends the command quietly, as for other command-line tools.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
const { buildIfStale } = await import('../../scripts/build-if-stale.mjs');
try {
  buildIfStale();
} catch (e) {
  process.stderr.write(`fer: error E_BUILD: ${e.message}\n`);
  process.exit(1);
}
await import('../dist/cli.js');
