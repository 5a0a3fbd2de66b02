#!/usr/bin/env node
// `pnpm test`: runs every vitest project and ends with the line CI reads:
// "N passed, N failed" (plus ", N skipped"), alone on the last line. Exits non-zero on failure.
//
// NOTE: the WebGPU test files run in a second vitest invocation. Dawn (the native WebGPU in the
// `webgpu` package) can crash the test process while it tears the GPU device down at exit, after
// every test in the file has passed; vitest then dies without a report. That invocation alone is
// retried once when (and only when) it ends without a report. A failing test is never retried.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
if (!process.env.FER2013_PATH) {
  const shared = join(root, '..', 'shared', 'data', 'fer2013', 'fer2013.csv.gz');
  if (existsSync(shared)) process.env.FER2013_PATH = shared;
}
// The WebGPU files (vitest.shared.ts leaves them out when FER_TEST_GPU=skip).
const GPU_ARGS = ['--project', '@fer/engine', 'src/webgpu.test.ts', 'src/backend.test.ts'];

/** One vitest run; returns its counts, or null when vitest ended without writing a report. */
function vitest(args, tag, env = {}) {
  const out = join(root, `.vitest-results${tag}.json`);
  rmSync(out, { force: true });
  const res = spawnSync('pnpm', ['exec', 'vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...args], {
    cwd: root, stdio: 'inherit', env: { ...process.env, ...env },
  });
  if (!existsSync(out)) return { report: false, status: res.status, signal: res.signal, passed: 0, failed: 0, skipped: 0 };
  const r = JSON.parse(readFileSync(out, 'utf8'));
  let failed = r.numFailedTests ?? 0;
  // A suite that failed to load (syntax error, missing module) has no tests: count it as failed.
  for (const f of r.testResults ?? []) if (f.status === 'failed' && (f.assertionResults ?? []).length === 0) failed += 1;
  if (res.status !== 0 && failed === 0) failed = 1;
  return { report: true, status: res.status, passed: r.numPassedTests ?? 0, failed, skipped: (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0) };
}

const user = process.argv.slice(2);
const runs = [];
if (user.length) {
  runs.push(vitest(user, ''));
} else {
  // NOTE: FER_ENGINE_WEBGPU=0: in this run `initBackend({ backend: 'auto' })` does not start Dawn, whose
  // teardown at exit can crash a test process (vitest then dies with "Channel closed" and no report).
  runs.push(vitest([], '', { FER_TEST_GPU: 'skip', FER_ENGINE_WEBGPU: '0' }));
  let gpu = vitest(GPU_ARGS, '-gpu');
  if (!gpu.report) {
    console.log(`\nThe WebGPU test run ended without a report (exit ${gpu.status}, signal ${gpu.signal}): retrying it once.\n`);
    gpu = vitest(GPU_ARGS, '-gpu');
  }
  runs.push(gpu);
}
let passed = 0, failed = 0, skipped = 0;
for (const r of runs) {
  passed += r.passed;
  skipped += r.skipped;
  failed += r.report ? r.failed : Math.max(1, r.failed);
}
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
