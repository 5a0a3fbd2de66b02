import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, hasRedisServer, startRedis } from '../_test-procs.js';
import { continueCommand } from '../job/stop.js';
import { Queue } from 'bullmq';
import { QUEUE_NAME, checkRedis, closeQueueObject, createConnection, parseQueueUrl, redactUrl } from './connection.js';

describe('queue URLs', () => {
  it('parses redis:// and rediss:// URLs into ioredis options', () => {
    expect(parseQueueUrl('redis://10.0.0.5:6380/2')).toEqual({ host: '10.0.0.5', port: 6380, db: 2 });
    expect(parseQueueUrl('redis://localhost')).toEqual({ host: 'localhost', port: 6379, db: 0 });
    expect(parseQueueUrl('rediss://user:p%40ss@h:1')).toEqual({ host: 'h', port: 1, db: 0, username: 'user', password: 'p@ss', tls: {} });
    expect(parseQueueUrl('redis://[::1]:7000')).toMatchObject({ host: '::1', port: 7000 });
  });

  it('rejects what is not a Redis URL, saying what was expected', () => {
    expect(() => parseQueueUrl('localhost:6379')).toThrow(/scheme "localhost:", expected redis:\/\//);
    expect(() => parseQueueUrl('not a url')).toThrow(expect.objectContaining({ code: 'E_BAD_QUEUE_URL' }));
    expect(() => parseQueueUrl('http://h:1')).toThrow(/expected redis:\/\/ or rediss:\/\//);
    expect(() => parseQueueUrl('redis://h:1/x')).toThrow(/database "x" is not a number/);
  });

  it('hides passwords in messages, and in the command that continues a stopped queued run', () => {
    expect(redactUrl('redis://u:secret@h:1/0')).toBe('redis://u:***@h:1/0');
    expect(redactUrl('redis://h:1')).toBe('redis://h:1');
    const run = { budget: 'smoke', seeds: 1, backend: 'auto', workers: 1, out: '/r' };
    expect(continueCommand({ ...run, queue: 'redis://h:6379/2' })).toBe('pnpm reproduce --preset smoke --out /r --queue redis://h:6379/2');
    expect(continueCommand({ ...run, queue: 'redis://:secret@h:6379' })).toMatch(/--queue 'redis:\/\/:\*\*\*@h:6379'$/);
  });

  it('a port where nothing listens: E_QUEUE_UNREACHABLE naming the URL, quickly', async () => {
    const port = await freePort();
    await expect(checkRedis(`redis://:pw@127.0.0.1:${port}`, 3000)).rejects.toMatchObject({
      code: 'E_QUEUE_UNREACHABLE',
      message: expect.stringContaining(`cannot reach Redis at redis://:***@127.0.0.1:${port}`),
    });
  });

  it('a server that never answers: E_QUEUE_UNREACHABLE after the timeout, not a hang', async () => {
    const silent = createServer(() => undefined);
    const port = await new Promise<number>((res) => silent.listen(0, '127.0.0.1', () => res((silent.address() as { port: number }).port)));
    try {
      await expect(checkRedis(`redis://127.0.0.1:${port}`, 500)).rejects.toMatchObject({ code: 'E_QUEUE_UNREACHABLE', message: expect.stringContaining(`127.0.0.1:${port}`) });
    } finally {
      silent.close();
    }
  });

  it('never prints a password, even from a URL that does not parse', () => {
    for (const url of ['redis://u:s3cret@h:notaport', 'redis://u:p@ss/w@h:1/x', 'redis://u:s3cret@h:1/x', 'redis//u:s3cret@h', 'http://u:s3cret@h:1', 'redis://u:p@ss/w0rd@h:1/x', 'redis://:ab/s3cret@h:1', 'redis://:p@ss/s3cret@h:6379/0']) {
      let msg = '';
      try { parseQueueUrl(url); } catch (e) { msg = (e as Error).message; }
      expect(msg, url).not.toBe('');
      // A raw "/" in the password: the URL parser ends the user info there; its "database" was the rest of the password.
      expect(msg, url).not.toMatch(/s3cret|p@ss|ss\/w|w0rd/);
    }
    expect(() => parseQueueUrl('redis://u:p@ss/w0rd@h:1/x')).toThrow(expect.objectContaining({ code: 'E_BAD_QUEUE_URL', message: expect.stringContaining('redis://u:***@h:1/x: an "@" after the host') }));
    expect(redactUrl('redis://u:p@ss/w@h:1/0')).toBe('redis://u:***@h:1/0');
    expect(redactUrl('redis://s3cret@h:1')).toBe('redis://***@h:1');
  });

  const hasRedis = hasRedisServer();
  it.skipIf(!hasRedis)('a wrong or missing password is an auth failure (E_QUEUE_AUTH), not "start one", and the password is not shown', async () => {
    const { proc: redis, port } = await startRedis({ password: 'right-one' });
    try {
      const wrong = await checkRedis(`redis://:wrong-one@127.0.0.1:${port}`, 3000).catch((e: Error) => e);
      expect(wrong).toMatchObject({ code: 'E_QUEUE_AUTH', message: expect.stringContaining(`Redis at redis://:***@127.0.0.1:${port} is running but refused the user name or password`) });
      expect((wrong as Error).message).not.toMatch(/wrong-one|start one/);
      await expect(checkRedis(`redis://127.0.0.1:${port}`, 3000)).rejects.toMatchObject({ code: 'E_QUEUE_AUTH', message: expect.stringContaining('refused to work without a password') });
      await expect(checkRedis(`redis://:right-one@127.0.0.1:${port}`, 3000)).resolves.toMatchObject({ version: expect.any(String) });
    } finally {
      await redis.stop();
    }
  }, 30_000);

  it('a queue closed while BullMQ still checks the server version (a command with nothing left to do) ends quietly: no unhandled "Connection is closed"', async () => {
    // A fake server: answers ioredis' ready check (CLIENT SETINFO, the first INFO) and never BullMQ's own INFO, so the
    // queue's start-up is in flight when it is closed (what ended a `pnpm reproduce` whose results were all on disk).
    const server = createServer((s) => {
      let infos = 0;
      s.on('data', (b) => {
        const t = b.toString();
        for (const _m of t.matchAll(/SETINFO/gi)) s.write('+OK\r\n');
        if (/\binfo\b/i.test(t) && infos++ === 0) { const body = '# Server\r\nredis_version:7.0.15\r\nloading:0\r\n'; s.write(`$${body.length}\r\n${body}\r\n`); }
      });
    });
    const port = await new Promise<number>((res) => server.listen(0, '127.0.0.1', () => res((server.address() as { port: number }).port)));
    const unhandled: unknown[] = [];
    const onRejection = (e: unknown) => { unhandled.push(e); };
    process.on('unhandledRejection', onRejection);
    try {
      const conn = createConnection(`redis://127.0.0.1:${port}`, { blocking: false });
      const queue = new Queue(QUEUE_NAME, { connection: conn });
      for (let k = 0; k < 50 && conn.status !== 'ready'; k++) await new Promise((res) => setTimeout(res, 20));
      expect(conn.status).toBe('ready');
      await closeQueueObject(queue, conn, 100);
      await new Promise((res) => setTimeout(res, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
      server.close();
    }
  });
});
