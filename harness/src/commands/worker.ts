import { defineCommand } from 'citty';
import { intFlag } from '../flags.js';
import { QUEUE_DEFAULTS } from '../queue/connection.js';
import { startQueueWorker } from '../queue/worker.js';
import { testHoldAfterEpoch, testHoldReleaseFile } from './_test-hooks.js';

const int = (v: unknown, flag: string): number | undefined => intFlag(v, flag, { min: flag === '--max-stalls' || flag === '--idle-exit' ? 0 : 1 });

export default defineCommand({
  meta: { name: 'worker', description: 'Run training jobs that `pnpm reproduce --queue` / `fer sweep --queue` put on a Redis queue (BullMQ); results go to the shared results folder. See docs/distributed.md.' },
  args: {
    queue: { type: 'string', description: 'Redis URL, redis://HOST:PORT[/db] (rediss:// for TLS)', required: true },
    concurrency: { type: 'string', description: 'jobs at once on this machine, each in its own process (default 1)', default: '1' },
    backend: { type: 'string', description: "backend of every job here (default: the submitter's --backend)" },
    data: { type: 'string', description: "this machine's path (or URL) of the data set (default: the submitter's path)" },
    results: { type: 'string', description: "this machine's path of the shared results folder (default: the submitter's --out)" },
    config: { type: 'string', description: "this machine's path of the submitter's fer.config file, when its models are registered there and it lives elsewhere here" },
    name: { type: 'string', description: 'worker name in progress lines and the report (default <hostname>:<pid>)' },
    'stall-ms': { type: 'string', description: `lock duration = stalled-check interval in ms: a dead worker's job is taken again after about this long (default ${QUEUE_DEFAULTS.stallMs})` },
    'max-stalls': { type: 'string', description: `times a job may be recovered from a dead worker before it fails (default ${QUEUE_DEFAULTS.maxStalls})` },
    'idle-exit': { type: 'string', description: 'stop once the queue has had nothing waiting or running for this many seconds (for Kubernetes Jobs); default: run until stopped' },
  },
  async run({ args }) {
    const w = await startQueueWorker({
      url: args.queue, concurrency: int(args.concurrency, '--concurrency'), backend: args.backend, data: args.data, results: args.results, config: args.config, name: args.name,
      stallMs: int(args['stall-ms'] ?? process.env.FER_QUEUE_STALL_MS, '--stall-ms'), maxStalls: int(args['max-stalls'], '--max-stalls'),
      idleExitSeconds: int(args['idle-exit'], '--idle-exit'), holdAfterEpoch: testHoldAfterEpoch(), holdReleaseFile: testHoldReleaseFile(),
    });
    let signals = 0;
    const stop = (sig: string) => {
      // A second signal stops at once (the running jobs' locks then expire and others resume them).
      if (++signals > 1) process.exit(130);
      process.stdout.write(`fer worker ${w.name}: ${sig}, stopping (running jobs go back to the queue; their checkpoints stay)\n`);
      void w.close();
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    await w.done;
    process.stdout.write(`fer worker ${w.name}: stopped\n`);
  },
});
