// One writer per run folder: an exclusive lock file `<folder>/.fer-lock` holding the holder's PID, host,
// process start time and command. Taken atomically (the content is written to a private temp file, then
// hard-linked to the lock name, which fails if a lock exists), so a reader never sees half a lock.
// A lock whose holder is a dead process on this host is stale and taken over; a live holder's lock (or one
// from another host, whose liveness cannot be checked here) is never removed: the second writer gets
// E_FOLDER_LOCKED naming the folder and the holder.
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { FerCliError } from './errors.js';

/** The lock file's name inside a locked folder. */
export const LOCK_FILE = '.fer-lock';

/** What the lock file holds. */
export interface LockHolder {
  pid: number;
  host: string;
  /** Start time of the holder process (Linux /proc/<pid>/stat field 22), so a reused PID is not taken for the holder. */
  startTime?: string;
  /** What holds it, e.g. `fer train`. */
  command: string;
  /** ISO time the lock was taken. */
  since: string;
  /** Random per lock, so a release never removes a lock it does not own. */
  token: string;
}

/** A held lock: `release()` removes the lock file (only if it is still this lock's). */
export interface FolderLock {
  dir: string;
  file: string;
  holder: LockHolder;
  release(): void;
}

const held = new Set<FolderLock>();
let exitHook = false;

/** Fields 3.. of /proc/<pid>/stat (state, ppid, ...; Linux), or undefined. */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The start time of process `pid` on this host (Linux), or undefined. */
function startTimeOf(pid: number): string | undefined {
  return procStat(pid)?.[19];
}

/** Whether `h` is a process that still runs on this host; `undefined` when it is on another host (cannot tell). */
export function holderAlive(h: LockHolder): boolean | undefined {
  if (h.host !== hostname()) return undefined;
  if (!Number.isInteger(h.pid) || h.pid <= 0) return false;
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procStat(h.pid);
  // A zombie (ended, not yet reaped by its parent) writes nothing any more.
  if (stat?.[0] === 'Z') return false;
  const now = stat?.[19];
  // The PID runs, but a different process got it since (the holder died and the PID was reused).
  if (h.startTime && now && now !== h.startTime) return false;
  return true;
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return h && typeof h === 'object' && typeof h.pid === 'number' ? h : undefined;
  } catch {
    return undefined;
  }
}

function describeHolder(h: LockHolder | undefined): string {
  if (!h) return 'an unknown holder (the lock file is unreadable)';
  return `${h.command} (pid ${h.pid} on host ${h.host}, since ${h.since})`;
}

/**
 * Takes the exclusive lock of `dir` (created if missing) for `command`, or throws FerCliError E_FOLDER_LOCKED
 * naming the folder and the holder. A stale lock (its holder is a dead process on this host) is replaced.
 * The lock is released by `release()` and, as a last resort, when this process exits.
 * @example
 * const lock = lockFolder('runs/a', 'fer train');
 * try { ... } finally { lock.release(); }
 */
export function lockFolder(dir: string, command: string): FolderLock {
  const abs = resolve(dir);
  try {
    mkdirSync(abs, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new FerCliError('E_FS', `${code} while creating the folder ${abs}: ${(e as Error).message}. Choose a writable folder.`, { cause: e });
  }
  const file = join(abs, LOCK_FILE);
  const holder: LockHolder = { pid: process.pid, host: hostname(), startTime: startTimeOf(process.pid), command, since: new Date().toISOString(), token: randomBytes(8).toString('hex') };
  const tmp = join(abs, `${LOCK_FILE}.${process.pid}.${holder.token}`);
  try {
    writeFileSync(tmp, `${JSON.stringify(holder)}\n`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new FerCliError('E_FS', `${code} while writing the lock file of ${abs}: ${(e as Error).message}. Choose a writable folder.`, { cause: e });
  }
  try {
    for (let tries = 0; ; tries++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
          const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
          throw new FerCliError('E_FS', `${code} while taking the lock ${file}: ${(e as Error).message}. Choose a writable folder.`, { cause: e });
        }
      }
      const other = readHolder(file);
      const alive = other ? holderAlive(other) : true;
      if (alive !== false || tries >= 5) {
        const where = alive === undefined ? ` It is held from another host (${other!.host}); if no run is left there, delete ${file} and retry.` : ` If you are sure nothing writes there any more, delete ${file}.`;
        throw new FerCliError('E_FOLDER_LOCKED', `${abs} is in use by ${describeHolder(other)}; expected a folder no other run writes to. Wait for that run to end, or choose another folder.${where}`);
      }
      breakStale(file, other!);
    }
  } finally {
    try { unlinkSync(tmp); } catch { /* already gone */ }
  }
  const lock: FolderLock = {
    dir: abs, file, holder,
    release() {
      if (!held.delete(lock)) return;
      if (readHolder(file)?.token === holder.token) {
        try { unlinkSync(file); } catch { /* already gone */ }
      }
    },
  };
  held.add(lock);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => { for (const l of [...held]) l.release(); });
  }
  return lock;
}

/**
 * {@link lockFolder}, retried every 250 ms while another live process holds the lock, for at most `waitMs`
 * (then its E_FOLDER_LOCKED). For short critical sections (writing a report) that two processes may reach.
 */
export async function lockFolderWaiting(dir: string, command: string, waitMs: number): Promise<FolderLock> {
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      return lockFolder(dir, command);
    } catch (e) {
      if ((e as { code?: string }).code !== 'E_FOLDER_LOCKED' || Date.now() >= until) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * Removes the stale lock `file` of the dead `stale` holder. Two processes may find the same stale lock, so
 * removing it needs a second, short-lived lock `<file>.break` (exclusive create): inside it the lock is read
 * again and removed only if it still is the stale holder's (never a lock taken since). A `.break` file left
 * by a process that died inside this function (a double fault) is removed when its PID is dead.
 */
function breakStale(file: string, stale: LockHolder): void {
  const brk = `${file}.break`;
  try {
    writeFileSync(brk, `${JSON.stringify({ pid: process.pid, host: hostname(), startTime: startTimeOf(process.pid) })}\n`, { flag: 'wx' });
  } catch {
    const other = readHolder(brk);
    if (other && holderAlive(other) === false) {
      try { unlinkSync(brk); } catch { /* another process did */ }
    }
    return; // someone else is breaking it: retry taking the lock
  }
  try {
    if (readHolder(file)?.token === stale.token) unlinkSync(file);
  } catch { /* gone already */ } finally {
    try { unlinkSync(brk); } catch { /* ignore */ }
  }
}
