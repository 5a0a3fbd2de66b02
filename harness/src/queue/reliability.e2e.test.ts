// Issue 22, item 5, through a real Redis (Debian's redis-server on a free loopback port) and real processes:
// (f) a worker whose --results folder cannot be written says so in its log and leaves the job to the others
//     (no attempt used up, no failure recorded): another worker finishes it;
// (g) fer sweep --queue with --config: the worker's fer train child gets the config (the user model trains).
// Item 4: (h) a job whose queue lock expired while its attempt still ran is taken over; the older attempt, when it
//     goes on, stops at its next step (fenced off by the newer attempt's claim) and writes nothing.
// Skipped (loudly) only when redis-server is not installed.
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ferProcess, HARNESS_DIR, hasRedisServer, MIN, Proc, startRedis } from '../_test-procs.js';
import type { AttemptRecord } from './protocol.js';

const hasRedis = hasRedisServer();
if (!hasRedis) console.warn('\n*** SKIPPED harness/src/queue/reliability.e2e.test.ts: redis-server is not installed. ***\n');
const backend = process.env.FER_BACKEND ?? 'auto';
// Tiny jobs: the queue's behaviour is under test, not the training.
const TINY = ['--set', 'train.trainLimit=96', '--set', 'train.evalLimit=28'];

const procs: Proc[] = [];
function fer(name: string, args: string[], env: Record<string, string> = {}): Proc {
  const p = ferProcess(name, args, env);
  procs.push(p);
  return p;
}

describe.skipIf(!hasRedis)('queue workers that cannot run a job leave it to others (real redis-server)', () => {
  let redis: Proc;
  let url = '';
  beforeAll(async () => {
    ({ proc: redis, url } = await startRedis());
  }, 2 * MIN);
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    redis?.kill('SIGTERM');
    await redis?.exited;
  }, MIN);

  it('(f) a worker whose --results cannot be written logs why, leaves the job and stops; another worker finishes it', async () => {
    const q = `${url}/5`;
    const out = mkdtempSync(join(tmpdir(), 'fer-queue-f-'));
    const blocker = join(mkdtempSync(join(tmpdir(), 'fer-queue-f-bad-')), 'a-file');
    writeFileSync(blocker, ''); // a file where the results folder should be: nothing can be written under it
    const bad = fer('worker (bad results)', ['worker', '--queue', q, '--name', 'worker-bad', '--stall-ms', '2000', '--results', join(blocker, 'results')]);
    await bad.waitFor(/ready on/);
    const run = fer('reproduce --queue', ['reproduce', '--budget', 'smoke', '--only', 'filters', ...TINY, '--backend', backend, '--queue', q, '--out', out]);
    await bad.waitFor(/fer worker worker-bad cannot run jobs: the results folder is not writable here \(ENOTDIR/);
    expect(await bad.exited).not.toBe(0);
    expect(bad.out).toMatch(/E_WORKER_UNFIT/);
    const good = fer('worker (good)', ['worker', '--queue', q, '--name', 'worker-good', '--stall-ms', '2000']);
    expect(await run.exited, run.out.slice(-3000)).toBe(0);
    const [hash] = readdirSync(join(out, 'jobs'));
    const recs = readFileSync(join(out, 'jobs', hash, 'attempts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AttemptRecord);
    expect(recs.map((r) => `${r.event} ${r.worker} ${r.status ?? ''}`.trim())).toEqual(['start worker-good', 'end worker-good done']);
    good.kill('SIGTERM');
    await good.exited;
  }, 10 * MIN);

  it('(g) fer sweep --queue --config: the worker\'s fer train child gets the config, so a user model trains', async () => {
    const q = `${url}/6`;
    const out = mkdtempSync(join(tmpdir(), 'fer-queue-g-'));
    const config = resolve(HARNESS_DIR, '..', 'examples', 'my-model', 'fer.config.mjs');
    const w = fer('worker', ['worker', '--queue', q, '--name', 'worker-g', '--stall-ms', '2000']);
    await w.waitFor(/ready on/);
    const sweep = fer('sweep --queue --config', ['sweep', '--model', 'my-net', '--config', config, '--preset', 'smoke', '--grid', 'lr=1e-3', '--set', 'limit=48', '--set', 'data.validationLimit=28', '--backend', backend, '--queue', q, '--out', out]);
    expect(await sweep.exited, `${sweep.out.slice(-2000)}\n${w.out.slice(-2000)}`).toBe(0);
    const board = (JSON.parse(readFileSync(join(out, 'leaderboard.json'), 'utf8')) as { trials: { key: string; status: string }[] }).trials;
    expect(board.map((r) => r.status)).toEqual(['done']);
    const cfg = JSON.parse(readFileSync(join(out, 'trials', board[0].key, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ preset: 'smoke', model: { name: 'my-net' } });
    expect(existsSync(join(out, 'trials', board[0].key, 'model', 'fer.json'))).toBe(true);
    w.kill('SIGTERM');
    await w.exited;
  }, 10 * MIN);

  it('(h) a lock that expired mid-attempt: the newer attempt owns the job folder, the older one stops at its next step writing nothing', async () => {
    const q = `${url}/7`;
    const out = mkdtempSync(join(tmpdir(), 'fer-queue-h-'));
    const release = join(mkdtempSync(join(tmpdir(), 'fer-queue-h-release-')), 'go');
    // Worker A holds its job after the epoch-1 checkpoint until `release` exists (test hooks).
    const a = fer('worker-a', ['worker', '--queue', q, '--name', 'worker-a', '--stall-ms', '2000'], { FER_QUEUE_TEST_HOLD_AFTER_EPOCH: '1', FER_QUEUE_TEST_HOLD_RELEASE_FILE: release });
    await a.waitFor(/ready on/);
    const run = fer('reproduce --queue', ['reproduce', '--budget', 'smoke', '--only', 'filters', ...TINY, '--set', 'train.epochs=2', '--backend', backend, '--queue', q, '--out', out]);
    const [, hash] = await a.waitFor(/\((\w+)\) held after epoch 1 /);
    const dir = join(out, 'jobs', hash);
    // Worker A's process stalls (as with Redis paused, or a starved event loop): it cannot renew the job's lock,
    // which expires, so worker B takes the job over while A's attempt (its training child) is still alive.
    process.kill(a.child.pid!, 'SIGSTOP');
    try {
      const b = fer('worker-b', ['worker', '--queue', q, '--name', 'worker-b', '--stall-ms', '2000']);
      expect(await run.exited, `${run.out.slice(-2000)}\n${b.out.slice(-2000)}`).toBe(0);
      expect(b.out).toMatch(new RegExp(`\\(${hash}\\) resuming from the checkpoint of epoch 1`));
      // Every file of the job folder with its size and time: the older attempt must change none of them.
      const files = () => readdirSync(dir, { recursive: true }).map(String).sort().map((n) => { const st = statSync(join(dir, n)); return `${n} ${st.size} ${st.mtimeMs}`; });
      const before = files();
      expect(before.some((f) => f.startsWith('result.json '))).toBe(true);
      // A's attempt goes on: its training step returns, and the fence check after it finds B's claim.
      writeFileSync(release, '');
      process.kill(a.child.pid!, 'SIGCONT');
      await a.waitFor(new RegExp(`\\(${hash}\\) attempt 1 on worker-a stopped: a newer attempt took the job over`));
      expect(files()).toEqual(before);
      const recs = readFileSync(join(dir, 'attempts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AttemptRecord);
      expect(recs.map((r) => `${r.event} ${r.worker} ${r.status ?? ''}`.trim())).toEqual(['start worker-a', 'start worker-b', 'end worker-b done']);
      expect(JSON.parse(readFileSync(join(dir, 'queue.json'), 'utf8'))).toMatchObject({ worker: 'worker-b' });
      expect(readdirSync(dir, { recursive: true }).filter((n) => String(n).includes('.tmp'))).toEqual([]);
      b.kill('SIGTERM');
      await b.exited;
    } finally {
      // Whatever happened above: A's held attempt must not outlive the test (a stopped or held worker ignores SIGTERM).
      writeFileSync(release, '');
      if (a.child.exitCode === null) process.kill(a.child.pid!, 'SIGCONT');
      a.kill('SIGKILL');
      await a.exited;
    }
  }, 10 * MIN);
});
