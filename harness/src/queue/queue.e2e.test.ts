// End to end through a real Redis (Debian's redis-server, started here on a free loopback port and
// stopped at the end) and real `fer worker` / `pnpm reproduce --queue` processes:
// (a) two workers, one SIGKILLed mid-job after its epoch-1 checkpoint: the run completes, every job has
//     one result, the killed job resumed from its checkpoint, and the numbers equal a local run's;
// (b) the same reproduction enqueued twice enqueues nothing new and each job runs once; a third run
//     finds every result in the shared folder and enqueues nothing;
// (c) a diverging job fails after its attempts and reproduce exits non-zero naming it;
// (d) no Redis at the URL: a clear error naming it, not a hang;
// (e) fer sweep --queue, and a worker with --idle-exit that leaves once the queue is empty.
// Skipped (loudly) only when redis-server is not installed; .ci/run installs it.
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ferProcess, freePort, hasRedisServer, MIN, Proc, startRedis } from '../_test-procs.js';
import type { AttemptRecord, QueueRunInfo } from './protocol.js';

const backend = process.env.FER_BACKEND ?? 'auto';
const hasRedis = hasRedisServer();
if (!hasRedis) {
  console.warn('\n*** SKIPPED harness/src/queue/queue.e2e.test.ts: redis-server is not installed (apt-get install redis-server; .ci/run installs it). The distributed-queue tests did NOT run. ***\n');
}

const procs: Proc[] = [];
/** A `fer` process from the sources; synthetic data (FER2013_PATH unset) keeps it quick: the queue does not care which data. */
function fer(name: string, args: string[], env: Record<string, string> = {}): Proc {
  const p = ferProcess(name, args, env);
  procs.push(p);
  return p;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const attempts = (dir: string): AttemptRecord[] => readFileSync(join(dir, 'attempts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AttemptRecord);
const jobDirs = (out: string) => readdirSync(join(out, 'jobs')).map((h) => join(out, 'jobs', h));
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

describe.skipIf(!hasRedis)('distributed reproduce through BullMQ on a real redis-server', () => {
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

  it('(a) a worker SIGKILLed mid-job: the job resumes from its checkpoint on the other worker; one result per job; same numbers as a local run', async () => {
    const q = `${url}/1`;
    const out = mkdtempSync(join(tmpdir(), 'fer-queue-a-'));
    const local = mkdtempSync(join(tmpdir(), 'fer-queue-local-'));
    const common = ['--budget', 'smoke', '--only', 'accuracy', '--backend', backend];
    // Worker A holds its first job after the epoch-1 checkpoint (test hook) so the kill lands mid-job.
    // NOTE: a 5 s lock (renewed every 2.5 s): short enough for a quick recovery, long enough that a live worker on a
    // starved machine keeps its job.
    const a = fer('worker-a', ['worker', '--queue', q, '--name', 'worker-a', '--stall-ms', '5000'], { FER_QUEUE_TEST_HOLD_AFTER_EPOCH: '1' });
    await a.waitFor(/ready on/);
    const run = fer('reproduce --queue', ['reproduce', ...common, '--queue', q, '--out', out]);
    await run.waitFor(/2 job\(s\) enqueued, 0 already in the queue, 0 finished before/);
    const held = await a.waitFor(/(\S+) seed \d+ \((\w+)\) held after epoch 1 .*child pid (\d+)/);
    const [heldHash, childPid] = [held[2], Number(held[3])];
    await run.waitFor(new RegExp(`\\(${heldHash}\\): running on worker-a, epoch 1/2`));
    const b = fer('worker-b', ['worker', '--queue', q, '--name', 'worker-b', '--stall-ms', '5000']);
    await b.waitFor(/ready on/);
    a.kill('SIGKILL');
    await a.exited;
    // The orphaned training child ends with its worker (IPC disconnect), so it cannot race the new attempt.
    for (let i = 0; i < 600 && alive(childPid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive(childPid), 'the killed worker\'s training child is gone').toBe(false);
    expect(await run.exited, run.out.slice(-3000)).toBe(0);
    expect(b.out).toMatch(new RegExp(`\\(${heldHash}\\) resuming from the checkpoint of epoch 1`));

    // Every job: exactly one result, one finished attempt; the killed one resumed from epoch 1 on worker-b.
    const dirs = jobDirs(out);
    expect(dirs).toHaveLength(2);
    for (const dir of dirs) {
      expect(existsSync(join(dir, 'result.json'))).toBe(true);
      const recs = attempts(dir);
      expect(recs.filter((r) => r.event === 'end' && r.status === 'done')).toHaveLength(1);
      const info = readJson<QueueRunInfo>(join(dir, 'queue.json'));
      const result = readJson<{ resumedFrom: number; history: unknown[] }>(join(dir, 'result.json'));
      expect(result.history).toHaveLength(2);
      if (dir.endsWith(heldHash)) {
        expect(recs.map((r) => `${r.event} ${r.worker}`)).toEqual(['start worker-a', 'start worker-b', 'end worker-b']);
        expect(info).toMatchObject({ worker: 'worker-b', resumedFrom: 1, cached: false });
        expect(result.resumedFrom).toBe(1);
      } else {
        expect(result.resumedFrom).toBe(0);
      }
    }
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain('worker (time of the finishing attempt)');
    expect(report).toMatch(/worker-b, [\d.]+s, resumed from epoch 1/);

    // The same seeds run here, without the queue: the same numbers.
    const here = fer('reproduce (local)', ['reproduce', ...common, '--out', local]);
    expect(await here.exited, here.out.slice(-3000)).toBe(0);
    type Results = { sections: unknown[]; jobs: { hash: string; validation: number; test: number; bestEpoch: number; history: { seconds?: number }[] }[] };
    const numbers = (r: Results) => ({
      sections: r.sections,
      jobs: r.jobs.map((j) => ({ hash: j.hash, validation: j.validation, test: j.test, bestEpoch: j.bestEpoch, history: j.history.map(({ seconds: _s, ...h }) => h) })),
    });
    expect(numbers(readJson<Results>(join(out, 'results.json')))).toEqual(numbers(readJson<Results>(join(local, 'results.json'))));
    for (const dir of dirs) {
      const pred = (d: string) => { const r = readJson<{ validation: { predicted: number[] }; test: { predicted: number[] } }>(join(d, 'result.json')); return [r.validation.predicted, r.test.predicted]; };
      expect(pred(dir)).toEqual(pred(join(local, 'jobs', dir.split('/').pop()!)));
    }
    b.kill('SIGTERM');
    expect(await b.waitFor(/stopped/)).toBeTruthy();
  }, 15 * MIN);

  it('(b) the same reproduction enqueued twice enqueues nothing new, each job runs once; with every result on disk nothing is enqueued', async () => {
    const q = `${url}/2`;
    const out = mkdtempSync(join(tmpdir(), 'fer-queue-b-'));
    const args = ['reproduce', '--budget', 'smoke', '--only', 'accuracy', '--backend', backend, '--queue', q, '--out', out];
    const first = fer('reproduce #1', args);
    await first.waitFor(/2 job\(s\) enqueued, 0 already in the queue, 0 finished before/);
    const second = fer('reproduce #2', args);
    await second.waitFor(/0 job\(s\) enqueued, 2 already in the queue, 0 finished before/);
    const w = fer('worker', ['worker', '--queue', q, '--name', 'worker-b1', '--stall-ms', '2000']);
    expect(await first.exited, first.out.slice(-3000)).toBe(0);
    expect(await second.exited, second.out.slice(-3000)).toBe(0);
    for (const dir of jobDirs(out)) expect(attempts(dir).filter((r) => r.event === 'start')).toHaveLength(1);
    const third = fer('reproduce #3', args);
    await third.waitFor(/0 job\(s\) enqueued, 0 already in the queue, 2 finished before/);
    expect(await third.exited, third.out.slice(-3000)).toBe(0);
    w.kill('SIGTERM');
    await w.exited;
  }, 10 * MIN);

  it('(c) a diverging job ends as failed after its attempts and reproduce exits non-zero naming it', async () => {
    const q = `${url}/3`;
    const out = mkdtempSync(join(tmpdir(), 'fer-queue-c-'));
    const w = fer('worker', ['worker', '--queue', q, '--name', 'worker-c', '--stall-ms', '2000']);
    await w.waitFor(/ready on/);
    const run = fer('reproduce (diverging)', ['reproduce', '--budget', 'smoke', '--only', 'filters', '--backend', backend, '--set', 'train.learningRate=1e38', '--queue', q, '--out', out, '--attempts', '2']);
    const code = await run.exited;
    expect(code, run.out.slice(-3000)).not.toBe(0);
    const [hash] = readdirSync(join(out, 'jobs'));
    expect(run.out).toMatch(/E_JOBS_FAILED/);
    expect(run.out).toMatch(new RegExp(`paper-deep seed 1 \\(${hash}\\) failed after 2 attempt\\(s\\): .*(?:E_NON_FINITE_LOSS|E_DIVERGED)`));
    expect(attempts(join(out, 'jobs', hash)).filter((r) => r.event === 'end' && r.status === 'failed')).toHaveLength(2);
    w.kill('SIGTERM');
    await w.exited;
  }, 10 * MIN);

  it('(e) fer sweep --queue: each trial runs on a worker, the leaderboard is written; ASHA too (rungs as --stop-after-epoch jobs); a worker with --idle-exit leaves once the queue is empty', async () => {
    const q = `${url}/4`;
    const out = mkdtempSync(join(tmpdir(), 'fer-queue-e-'));
    const w = fer('worker (idle-exit)', ['worker', '--queue', q, '--name', 'worker-e', '--stall-ms', '2000', '--idle-exit', '45']);
    await w.waitFor(/ready on/);
    const tiny = ['--set', 'model.filters=[2,2]', '--set', 'model.denseUnits=4', '--set', 'batch=16', '--set', 'limit=48', '--set', 'train.evalLimit=32', '--backend', 'cpu', '--queue', q];
    const sweep = fer('sweep --queue', ['sweep', '--model', 'paper-shallow', '--grid', 'lr=1e-4,3e-4', '--set', 'epochs=1', ...tiny, '--out', out]);
    expect(await sweep.exited, sweep.out.slice(-3000)).toBe(0);
    type Board = { trials: { key: string; status: string; epochs: number }[] };
    const board = readJson<Board>(join(out, 'leaderboard.json'));
    expect(board.trials.map((r) => r.status)).toEqual(['done', 'done']);
    for (const r of board.trials) expect(readJson<QueueRunInfo>(join(out, 'trials', r.key, 'queue.json')).worker).toBe('worker-e');
    const outAsha = mkdtempSync(join(tmpdir(), 'fer-queue-e-asha-'));
    const asha = fer('sweep --queue --asha', ['sweep', '--model', 'paper-shallow', '--space', 'lr=log:1e-4..1e-2', '--trials', '2', '--asha', '--eta', '2', '--max-epochs', '2', ...tiny, '--out', outAsha]);
    expect(await asha.exited, asha.out.slice(-3000)).toBe(0);
    const ab = readJson<Board>(join(outAsha, 'leaderboard.json'));
    expect(ab.trials.map((r) => [r.status, r.epochs])).toEqual([['done', 2], ['paused', 1]]);
    expect(asha.out).toMatch(/to epoch 1 .*enqueued/);
    expect(await w.exited, w.out.slice(-2000)).toBe(0);
    expect(w.out).toMatch(/idle for 45s, stopping/);
  }, 10 * MIN);

  it('(d) no Redis at the URL: E_QUEUE_UNREACHABLE naming it, for the worker and for reproduce', async () => {
    const port = await freePort(); // nothing listens there
    const q = `redis://127.0.0.1:${port}`;
    const w = fer('worker (no redis)', ['worker', '--queue', q]);
    expect(await w.exited).not.toBe(0);
    expect(w.out).toContain(`E_QUEUE_UNREACHABLE: [fer queue] cannot reach Redis at ${q}`);
    const run = fer('reproduce (no redis)', ['reproduce', '--budget', 'smoke', '--only', 'filters', '--backend', backend, '--queue', q, '--out', mkdtempSync(join(tmpdir(), 'fer-queue-d-'))]);
    expect(await run.exited).not.toBe(0);
    expect(run.out).toContain(`cannot reach Redis at ${q}`);
  }, 5 * MIN);
});
