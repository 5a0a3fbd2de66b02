// Issue 22, item 12: the submitter's Redis work per poll does not grow with the number of queued jobs (it read
// every job every second: ~20k operations per second for 5,000 queued jobs and no worker). Queue events mark
// the jobs that changed; a poll reads those plus a few round robin. Real redis-server on a free loopback port.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSyntheticFer } from '@fer/data';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { experiments } from '../../experiments/index.js';
import { hasRedisServer, Proc, startRedis } from '../_test-procs.js';
import { dataIdentity, SYNTHETIC_SEED } from '../data.js';
import { planJobs } from '../reproduce/plan.js';
import { createQueueRunner } from './submit.js';

const hasRedis = hasRedisServer();

describe.skipIf(!hasRedis)('the submitter follows many queued jobs with bounded Redis work', () => {
  let redis: Proc;
  let port = 0;
  beforeAll(async () => {
    ({ proc: redis, port } = await startRedis());
  }, 60_000);
  afterAll(async () => { await redis?.stop(); });

  it('300 queued jobs, no worker: each poll reads at most the reconcile batch, not every job', async () => {
    const data = dataIdentity(makeSyntheticFer({ seed: SYNTHETIC_SEED }));
    const base = planJobs({ experiments, budget: 'smoke', seeds: 1, data });
    const jobs = Array.from({ length: 300 }, (_, i) => ({ ...base.jobs[i % base.jobs.length], hash: `many${String(i).padStart(4, '0')}` }));
    const plan = { ...base, jobs };
    const url = `redis://127.0.0.1:${port}/7`;
    const admin = new Redis({ port, host: '127.0.0.1', db: 7 });
    const lines: string[] = [];
    const q = await createQueueRunner({ url, plan, outDir: mkdtempSync(join(tmpdir(), 'fer-submit-')), data: '', fingerprint: data.fingerprint, backend: 'auto', workers: 1, pollMs: 20, reconcilePerPoll: 10, log: (l) => lines.push(l) });
    try {
      expect(q.enqueued.added).toHaveLength(300);
      const commands = async () => Number(/total_commands_processed:(\d+)/.exec(await admin.info('stats'))![1]);
      // The first poll reads every job once (their initial state); then only what changed plus the batch.
      while (q.stats.polls < 3) await new Promise((r) => setTimeout(r, 10));
      const [polls0, reads0, cmds0] = [q.stats.polls, q.stats.reads, await commands()];
      while (q.stats.polls < polls0 + 20) await new Promise((r) => setTimeout(r, 10));
      const [polls1, reads1, cmds1] = [q.stats.polls, q.stats.reads, await commands()];
      const perPoll = (reads1 - reads0) / (polls1 - polls0);
      expect(perPoll).toBeLessThan(20); // the batch of 10, plus the few jobs whose events arrived
      // Redis commands per poll: a job read is a few commands; far below one per queued job.
      expect((cmds1 - cmds0) / (polls1 - polls0)).toBeLessThan(100);
      expect(lines.join('\n')).toMatch(/300 job\(s\) enqueued/);
    } finally {
      await q.close();
      await admin.flushdb();
      admin.disconnect();
    }
  }, 120_000);
});

// Issue 22, item 11: after a Redis restart without persistence the jobs are gone from the queue; the submitter said
// "the job was removed from the queue by someone else". It now says Redis may have restarted, and what to do.
describe.skipIf(!hasRedis)('the submitter after a Redis restart that lost the queue', () => {
  it('names the restart as a cause and says to run the same command again (not "removed by someone else")', async () => {
    const first = await startRedis();
    const port = first.port;
    let redis = first.proc;
    const data = dataIdentity(makeSyntheticFer({ seed: SYNTHETIC_SEED }));
    const plan = planJobs({ experiments, budget: 'smoke', seeds: 1, data });
    const q = await createQueueRunner({ url: `redis://127.0.0.1:${port}`, plan, outDir: mkdtempSync(join(tmpdir(), 'fer-submit-')), data: '', fingerprint: data.fingerprint, backend: 'auto', workers: 1, pollMs: 50, log: () => undefined });
    try {
      while (q.stats.polls < 2) await new Promise((r) => setTimeout(r, 10));
      // Redis dies and comes back empty (no persistence), on the same port: the submitter reconnects.
      await redis.stop('SIGKILL');
      ({ proc: redis } = await startRedis({ port }));
      const job = plan.jobs[0];
      const err = await q.run({ job } as unknown as Parameters<typeof q.run>[0]).catch((e: Error) => e);
      expect(err).toMatchObject({ code: 'E_JOBS_FAILED', message: expect.stringContaining('the job is no longer in the queue') });
      expect((err as Error).message).toMatch(/Redis restarted without persistence and lost it\. Run the same command again/);
      expect((err as Error).message).not.toMatch(/someone else/);
    } finally {
      await q.close();
      await redis.stop();
    }
  }, 120_000);
});
