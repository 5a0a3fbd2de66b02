import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LOCK_FILE, holderAlive, lockFolder, lockFolderWaiting } from './lock.js';

const here = dirname(fileURLToPath(import.meta.url));
const fresh = () => mkdtempSync(join(tmpdir(), 'fer-lock-'));
/** The PID of a process that has ended (its PID is free). */
const deadPid = () => spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
const fakeLock = (dir: string, o: { pid: number; host?: string }) => writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: o.pid, host: o.host ?? hostname(), command: 'fer train', since: '2026-01-01T00:00:00.000Z', token: 'old' }));

describe('lockFolder: one writer per run folder', () => {
  it('a second writer gets E_FOLDER_LOCKED naming the folder and the holder; release frees it', () => {
    const dir = fresh();
    const a = lockFolder(dir, 'fer train');
    const lock = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'));
    expect(lock).toMatchObject({ pid: process.pid, host: hostname(), command: 'fer train' });
    expect(() => lockFolder(dir, 'pnpm reproduce')).toThrow(expect.objectContaining({
      code: 'E_FOLDER_LOCKED',
      message: expect.stringContaining(`${resolve(dir)} is in use by fer train (pid ${process.pid} on host ${hostname()}`),
    }));
    a.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const b = lockFolder(dir, 'pnpm reproduce');
    a.release(); // a second release of an old lock never removes the new holder's lock
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
    b.release();
  });

  it('takes over a stale lock (a dead PID on this host), never a live holder\'s or another host\'s', async () => {
    const dir = fresh();
    fakeLock(dir, { pid: Number(deadPid()) });
    const a = lockFolder(dir, 'fer train');
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    a.release();

    const live = spawn('sleep', ['30']);
    try {
      fakeLock(dir, { pid: live.pid! });
      expect(holderAlive({ pid: live.pid!, host: hostname(), command: '', since: '', token: '' })).toBe(true);
      expect(() => lockFolder(dir, 'fer train')).toThrow(expect.objectContaining({ code: 'E_FOLDER_LOCKED', message: expect.stringContaining(`pid ${live.pid}`) }));
      expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(live.pid);
    } finally {
      live.kill();
    }
    fakeLock(dir, { pid: Number(deadPid()), host: 'other-machine' });
    expect(() => lockFolder(dir, 'fer train')).toThrow(expect.objectContaining({ code: 'E_FOLDER_LOCKED', message: expect.stringMatching(/held from another host \(other-machine\); if no run is left there, delete .*\.fer-lock/) }));
  });

  it('lockFolderWaiting waits for a live holder to release (a short critical section), else E_FOLDER_LOCKED', async () => {
    const dir = fresh();
    const a = lockFolder(dir, 'pnpm reproduce --queue (writing the report)');
    await expect(lockFolderWaiting(dir, 'second', 0)).rejects.toMatchObject({ code: 'E_FOLDER_LOCKED' });
    const waiting = lockFolderWaiting(dir, 'second', 60_000);
    setTimeout(() => a.release(), 300);
    const b = await waiting;
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).command).toBe('second');
    b.release();
  });

  it('processes racing for one stale lock: exactly one wins', async () => {
    const dir = fresh();
    fakeLock(dir, { pid: Number(deadPid()) });
    // The winner holds the lock until every racer has answered (then it is killed), so no racer comes too late to see it.
    const script = `import { lockFolder } from ${JSON.stringify(join(here, 'lock.ts'))};
try { lockFolder(process.argv[2], 'racer'); process.stdout.write('won'); setInterval(() => undefined, 1000); } catch (e) { process.stdout.write(e.code); }`;
    const file = join(dir, '..', `racer-${process.pid}.mts`);
    writeFileSync(file, script);
    const children = Array.from({ length: 6 }, () => spawn(process.execPath, ['--import', 'tsx', file, dir], { stdio: ['ignore', 'pipe', 'inherit'] }));
    try {
      const outs = await Promise.all(children.map((c) => new Promise<string>((res) => {
        let out = '';
        c.stdout!.on('data', (b) => { out += b; res(out); });
        c.on('exit', () => res(out));
      })));
      expect(outs.filter((o) => o === 'won')).toHaveLength(1);
      expect(outs.filter((o) => o === 'E_FOLDER_LOCKED')).toHaveLength(5);
    } finally {
      for (const c of children) c.kill();
    }
  }, 60_000);
});
