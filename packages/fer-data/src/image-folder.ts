import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { checkKeys } from './_config.js';
import type { BadRow } from './_csv.js';
import type { LoadProgress } from './fer2013.js';
import type { FerDataset } from './dataset.js';
import { FerDataError } from './errors.js';
import { decodeImage } from './image.js';
import { EMOTIONS, IMAGE_PIXELS, IMAGE_SIZE, SPLITS } from './labels.js';
import { toGray48 } from './gray.js';

export { toGray48 };

/** Options of {@link loadImageFolder}. */
export interface ImageFolderOptions {
  /** 'throw' (default) on an unreadable image, or 'skip' it (counted in `skipped`). */
  onBadImage?: 'throw' | 'skip';
  onSkip?: (bad: BadRow) => void;
  signal?: AbortSignal;
  /** Progress, about every 1,000 images. */
  onProgress?: (p: LoadProgress) => void;
}

const SPLIT_DIRS: Record<string, number> = {
  train: 0, training: 0,
  val: 1, valid: 1, validation: 1, publictest: 1, public_test: 1, public: 1,
  test: 2, privatetest: 2, private_test: 2, private: 2,
};
const CLASS_DIRS: Record<string, number> = {
  angry: 0, anger: 0, disgust: 1, disgusted: 1, fear: 2, fearful: 2, happy: 3, happiness: 3,
  sad: 4, sadness: 4, surprise: 5, surprised: 5, neutral: 6,
  ...Object.fromEntries(EMOTIONS.map((_, i) => [String(i), i])),
};
const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

/**
 * Loads `<root>/<split>/<class>/*.{png,jpg}` (the common Kaggle image release: train|test / angry|disgust|...)
 * or `<root>/<class>/*` (all Training). A file-name prefix `Training_`, `PublicTest_` or `PrivateTest_` sets
 * the split (so the Kaggle `test` folder splits into PublicTest and PrivateTest); otherwise the folder does:
 * train/training -> Training, val/validation/publictest -> PublicTest, test/privatetest -> PrivateTest.
 * Colour images become gray with ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B, alpha ignored, as PIL's
 * convert('L')); other sizes are resized to 48x48 (whole image, no crop) with an area-average filter when
 * shrinking and bilinear interpolation when enlarging. Rows are ordered by split, class, then file name.
 * @example
 * const ds = await loadImageFolder('/data/fer2013-images'); // train/angry/Training_3908.jpg ...
 */
export async function loadImageFolder(root: string, opts: ImageFolderOptions = {}): Promise<FerDataset> {
  checkKeys('loadImageFolder', opts, ['onBadImage', 'onSkip', 'signal', 'onProgress']);
  const onBad = opts.onBadImage ?? 'throw';
  if (onBad !== 'throw' && onBad !== 'skip') throw new FerDataError('E_BAD_OPTION', `loadImageFolder: onBadImage is ${JSON.stringify(onBad)}, expected 'throw' or 'skip'.`);
  const top = await dirs(root);
  const entries: { path: string; label: number; split: number }[] = [];
  const topLower = top.map((d) => d.toLowerCase());
  const classLevel = top.length > 0 && topLower.every((d) => d in CLASS_DIRS);
  const splitDirs: [string, number][] = classLevel ? [['', 0]] : [];
  if (!classLevel) {
    for (let i = 0; i < top.length; i++) {
      const s = SPLIT_DIRS[topLower[i]];
      if (s === undefined) {
        throw new FerDataError('E_UNKNOWN_FORMAT', `${join(root, top[i])}: folder name "${top[i]}" is neither a split (train, test, val, Training, PublicTest, PrivateTest) nor a class (${EMOTIONS.join(', ').toLowerCase()}). Expected <root>/<split>/<class>/*.png|jpg.`);
      }
      splitDirs.push([top[i], s]);
    }
  }
  for (const [sd, s] of splitDirs) {
    const sdPath = join(root, sd);
    for (const cd of await dirs(sdPath)) {
      const label = CLASS_DIRS[cd.toLowerCase()];
      if (label === undefined) {
        throw new FerDataError('E_BAD_LABEL', `${join(sdPath, cd)}: class folder "${cd}" is not one of ${Object.keys(CLASS_DIRS).join(', ')}. Rename it to a FER2013 class.`);
      }
      const files = (await readdir(join(sdPath, cd))).filter((f) => IMAGE_EXT.has(extname(f).toLowerCase())).sort();
      for (const f of files) {
        const prefix = SPLITS.findIndex((name) => f.startsWith(`${name}_`));
        entries.push({ path: join(sdPath, cd, f), label, split: prefix >= 0 ? prefix : s });
      }
    }
  }
  entries.sort((a, b) => a.split - b.split || a.label - b.label || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (entries.length === 0) throw new FerDataError('E_EMPTY_INPUT', `${root}: found no .png/.jpg images, expected <root>/<split>/<class>/*.png|jpg.`);
  const pixels = new Uint8Array(entries.length * IMAGE_PIXELS);
  const labels = new Uint8Array(entries.length), splits = new Uint8Array(entries.length);
  let count = 0, skipped = 0;
  // NOTE: read ahead in groups of 32 files (I/O overlaps), decode in order (CPU).
  const READ_AHEAD = 32;
  let files: Promise<Buffer | Error>[] = [];
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k];
    if (opts.onProgress && k % 1000 === 0 && k > 0) opts.onProgress({ rows: count, done: k, total: entries.length, unit: 'images' });
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    if (k % READ_AHEAD === 0) {
      files = entries.slice(k, k + READ_AHEAD).map((x) => readFile(x.path).catch((err: Error) => err));
    }
    try {
      const buf = await files[k % READ_AHEAD];
      if (buf instanceof Error) {
        // Not a decoding problem: say what the OS said (a dangling or looping link, no permission, a folder).
        const code = (buf as NodeJS.ErrnoException).code ?? 'EIO';
        throw new FerDataError('E_BAD_IMAGE', `${e.path}: cannot read the file (${code}${code === 'ELOOP' ? ': a symlink loop' : code === 'ENOENT' ? ': a dangling symlink or the file was removed' : code === 'EISDIR' ? ': a folder with an image extension' : ''}: ${buf.message}). Fix or remove it.`, { cause: buf });
      }
      const img = decode(buf, e.path);
      toGray48(img, pixels, count * IMAGE_PIXELS);
    } catch (err) {
      const message = err instanceof FerDataError
        ? err.message.replace(/^\[fer-data\] /, '')
        : `${e.path}: cannot decode the image (${(err as Error).message}), expected a readable PNG or JPEG. Replace the file, or pass { onBadRow: 'skip' } to skip it (the count skipped is returned).`;
      if (onBad === 'throw') throw new FerDataError('E_BAD_IMAGE', message, { cause: err });
      skipped++;
      opts.onSkip?.({ file: e.path, line: 0, field: 'image', code: 'E_BAD_IMAGE', message });
      continue;
    }
    labels[count] = e.label;
    splits[count] = e.split;
    count++;
  }
  opts.onProgress?.({ rows: count, done: entries.length, total: entries.length, unit: 'images' });
  if (count === 0) throw new FerDataError('E_EMPTY_INPUT', `${root}: all ${entries.length} images were unreadable (skipped), expected at least one.`);
  return {
    count, width: IMAGE_SIZE, height: IMAGE_SIZE,
    pixels: count === entries.length ? pixels : pixels.slice(0, count * IMAGE_PIXELS),
    labels: labels.slice(0, count), splits: splits.slice(0, count),
    classNames: EMOTIONS, source: root, synthetic: false, skipped,
  };
}

// --- Internal helpers ---

/**
 * The sub-folders of `path`, sorted. A symlink to a folder counts as a folder (it is followed); a symlink that
 * leads nowhere (dangling, a loop, no permission) throws E_FS naming it, never dropped silently.
 */
async function dirs(path: string): Promise<string[]> {
  let list;
  try {
    list = await readdir(path, { withFileTypes: true });
  } catch (e) {
    throw new FerDataError('E_FS', `${path}: cannot read the folder (${(e as Error).message}). Check the path.`, { cause: e });
  }
  const out: string[] = [];
  for (const d of list) {
    if (d.isDirectory()) out.push(d.name);
    else if (d.isSymbolicLink()) {
      let st;
      try {
        st = await stat(join(path, d.name));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
        throw new FerDataError('E_FS', `${join(path, d.name)}: a symlink that cannot be followed (${code}${code === 'ENOENT' ? ': its target does not exist' : code === 'ELOOP' ? ': it loops' : ''}); expected a link to a folder of images. Fix or remove the link.`, { cause: e });
      }
      if (st.isDirectory()) out.push(d.name);
    }
  }
  return out.sort();
}

/** Decodes with the shared pixel cap (MAX_IMAGE_PIXELS, checked from the PNG/JPEG header before decoding). */
function decode(buf: Buffer, path: string): { data: Uint8Array; width: number; height: number; channels: 4 } {
  const skip = "pass { onBadRow: 'skip' } to skip it (the count skipped is returned).";
  try {
    return decodeImage(buf, { name: path, hint: `Resize it (the loader makes 48x48 anyway), or ${skip}` });
  } catch (e) {
    if (e instanceof FerDataError && !e.message.includes('onBadRow')) throw new FerDataError(e.code, `${e.message.replace(/^\[fer-data\] /, '')} Or ${skip}`, { cause: e.cause });
    throw e;
  }
}

