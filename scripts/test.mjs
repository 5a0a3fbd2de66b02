#!/usr/bin/env node
// `pnpm test`: runs every vitest project once and ends with the line CI reads:
// "N passed, N failed" (plus ", N skipped"), alone on the last line. Exits non-zero on failure.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, '.vitest-results.json');
rmSync(out, { force: true });
if (!process.env.FER2013_PATH) {
  const shared = join(root, '..', 'shared', 'data', 'fer2013', 'fer2013.csv.gz');
  if (existsSync(shared)) process.env.FER2013_PATH = shared;
}
const args = ['exec', 'vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)];
const res = spawnSync('pnpm', args, { cwd: root, stdio: 'inherit', env: process.env });
let passed = 0, failed = 0, skipped = 0;
if (existsSync(out)) {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  passed = r.numPassedTests ?? 0;
  failed = (r.numFailedTests ?? 0);
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A suite that failed to load (syntax error, missing module) has no tests: count it as failed.
  for (const f of r.testResults ?? []) if (f.status === 'failed' && (f.assertionResults ?? []).length === 0) failed += 1;
} else {
  failed = 1;
}
const code = res.status !== 0 || failed > 0 ? 1 : 0;
if (res.status !== 0 && failed === 0) failed = 1;
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(code);
