// Atomic file writes of the harness (job folders, queue records), their leftovers, and E_FS errors.
import { randomBytes } from 'node:crypto';
import { readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FerCliError } from '../errors.js';

/**
 * Writes `data` to `file` through a temp file of a unique name (`<file>.tmp-<pid>-<random>`) and a rename,
 * so two writers never share a temp file and a reader never sees half a file.
 */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Temp files of an atomic write (the harness's `<file>.tmp-<pid>-<hex>`, @fer/models' `<file>.tmp-<pid>-<time>`). */
const TMP_RE = /\.tmp-(\d+)-[0-9a-f]+$/;

/**
 * A file-system error of the harness's own writes as FerCliError E_FS: the OS code, what was being done, the path,
 * and what to check.
 * @example
 * fileError(Object.assign(new Error('no space'), { code: 'ENOSPC' }), 'writing the training history', 'run/history.json')
 */
export function fileError(e: unknown, phase: string, path: string): Error {
  if ((e as { code?: unknown })?.code === 'E_FS' || (e as { code?: unknown })?.code === 'E_FENCED') return e as Error;
  const code = (e as NodeJS.ErrnoException)?.code ?? 'EIO';
  const hint = code === 'ENOSPC' || code === 'EDQUOT' ? 'the disk is full: free space or choose another folder, then resume'
    : code === 'EROFS' || code === 'EACCES' || code === 'EPERM' ? 'the folder is not writable here: choose a writable folder or fix its permissions'
      : `${(e as Error)?.message ?? String(e)}: check the path`;
  return new FerCliError('E_FS', `${code} while ${phase} ${path}: ${hint}.`);
}

/** Removes leftover temp files of atomic writes by processes that are gone (another PID) in `dirs`; returns their paths. */
export function removeStaleTempFiles(dirs: readonly string[]): string[] {
  const removed: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw fileError(e, 'listing', dir);
    }
    for (const n of names) {
      const m = TMP_RE.exec(n);
      if (!m || Number(m[1]) === process.pid) continue;
      try {
        rmSync(join(dir, n), { force: true, recursive: true });
      } catch (e) {
        throw fileError(e, 'removing a stale temp file', join(dir, n));
      }
      removed.push(join(dir, n));
    }
  }
  return removed;
}
