import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FerModelsError } from './errors.js';

/**
 * The file-system calls of @fer/models, behind one object so tests can make one of them fail
 * (ENOSPC, EROFS) and check the error mapping (tests run as root, where chmod stops nothing).
 */
export const fsOps = {
  mkdir: fsp.mkdir,
  writeFile: fsp.writeFile,
  rename: fsp.rename,
  rm: fsp.rm,
  readdir: fsp.readdir,
};

/** Temp files of {@link writeFileAtomic}: `<name>.tmp-<pid>-<time>`. */
const TMP_RE = /\.tmp-\d+(-\d+)?$/;

/**
 * Writes `data` to `path` atomically: a temp file `<path>.tmp-<pid>-<time>` in the same folder, then
 * rename. File-system errors become E_FS naming the code, the phase (`while writing <what> <path>`) and a fix.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, what = 'file'): Promise<void> {
  try {
    await fsOps.mkdir(dirname(path), { recursive: true });
  } catch (e) {
    throw fsError(e, `creating the folder for ${what}`, dirname(path));
  }
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    await fsOps.writeFile(tmp, data);
    await fsOps.rename(tmp, path);
  } catch (e) {
    await fsOps.rm(tmp, { force: true }).catch(() => undefined);
    throw fsError(e, `writing ${what}`, path);
  }
}

/** Removes leftover `*.tmp-*` files of {@link writeFileAtomic} (from a killed process) in `dir`; returns their names. */
export async function removeStaleTempFiles(dir: string, what = 'run folder'): Promise<string[]> {
  let names: string[];
  try {
    names = await fsOps.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fsError(e, `listing the ${what}`, dir);
  }
  const stale = names.filter((n) => TMP_RE.test(n) && !n.includes(`.tmp-${process.pid}-`));
  for (const n of stale) {
    try {
      await fsOps.rm(join(dir, n), { force: true });
    } catch (e) {
      throw fsError(e, 'removing a stale temp file', join(dir, n));
    }
  }
  return stale;
}

/**
 * A file-system error as E_FS: `<CODE> while <phase> <path>: <meaning>. <fix>`. A read-only or
 * unwritable folder says so (EACCES, EPERM, EROFS), a full disk says full (ENOSPC, EDQUOT).
 */
export function fsError(e: unknown, phase: string, path: string): FerModelsError {
  if (e instanceof FerModelsError) return e;
  const code = (e as NodeJS.ErrnoException)?.code ?? 'EIO';
  const meaning: Record<string, string> = {
    ENOSPC: 'the disk is full. Free space or write to another folder, then resume',
    EDQUOT: 'the disk quota is used up. Free space or write to another folder, then resume',
    EROFS: 'the file system is read-only. Choose a writable output folder',
    EACCES: 'the folder is read-only or not writable by this user (permission denied). Choose a writable folder or fix its permissions',
    EPERM: 'the folder is read-only or the operation is not permitted. Choose a writable folder or fix its permissions',
    ENOTDIR: `a part of the path is a file, not a folder (${basename(dirname(path))}). Choose another output folder or remove that file`,
    EEXIST: 'a file is in the way where a folder is needed. Choose another output folder or remove that file',
    EISDIR: 'a folder is in the way where a file is needed. Remove that folder',
    ENOENT: 'a folder on the path does not exist (it was removed while running?). Check the path',
    EMFILE: 'too many open files. Raise the limit (ulimit -n) and retry',
  };
  const why = meaning[code] ?? `${(e as Error)?.message ?? String(e)}. Check the path and the disk`;
  return new FerModelsError('E_FS', `${code} while ${phase} ${path}: ${why}.`, { cause: e });
}
