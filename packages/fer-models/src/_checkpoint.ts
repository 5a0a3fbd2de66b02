import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fsError, fsOps, writeFileAtomic } from './_fs.js';
import { FerModelsError } from './errors.js';

// One checkpoint = one file `ckpt-<epoch>.ferckpt`:
//   8 bytes magic "FERCKPT2" | uint32 LE header length | header JSON (utf-8, space-padded) | float32 payload
//   | 32 bytes sha256 of everything before it (magic, header and payload).
// The header lists the arrays (group, name, shape, offset), the epoch and the trainer state (RNG, history, config).
// NOTE: "FERCKPT1" files (sha256 of the payload only, in the header) are still read, with a warning,
// so a run started by an older version can be resumed; their header is not covered by any checksum.

const MAGIC = 'FERCKPT2';
const LEGACY_MAGIC = 'FERCKPT1';
const SHA_BYTES = 32;

export interface CheckpointArray {
  group: string;
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface Checkpoint {
  /** Completed epochs. */
  epoch: number;
  state: Record<string, unknown>;
  arrays: CheckpointArray[];
  /** True for a FERCKPT1 file (header not checksummed). */
  legacy?: boolean;
}

export function checkpointFile(dir: string, epoch: number): string {
  return join(dir, `ckpt-${String(epoch).padStart(6, '0')}.ferckpt`);
}

/**
 * The mid-epoch checkpoint written when train() is stopped between steps (`stop` signal): same format,
 * `epoch` = completed epochs, `state.partial` = where in the next epoch it stopped. Not rotated; removed
 * when the next epoch's checkpoint is written.
 */
export function partialCheckpointFile(dir: string): string {
  return join(dir, 'partial.ferckpt');
}

/** The first non-finite value among `arrays` (group 'weights' and 'best' and 'optimizer'), or null. */
export function firstNonFinite(arrays: CheckpointArray[]): { array: CheckpointArray; index: number; value: number } | null {
  for (const a of arrays) {
    const d = a.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) return { array: a, index: i, value: d[i] };
    }
  }
  return null;
}

/**
 * Writes a checkpoint atomically and deletes all but the newest `keep` checkpoints. Refuses
 * (E_DIVERGED) arrays holding NaN/Infinity, so the rotation never deletes the last finite checkpoint.
 */
export async function writeCheckpoint(dir: string, ck: Checkpoint, keep = 2, file = checkpointFile(dir, ck.epoch)): Promise<string> {
  const bad = firstNonFinite(ck.arrays);
  if (bad) {
    throw new FerModelsError('E_DIVERGED', `refusing to write checkpoint ${file}: ${bad.array.group} ${bad.array.name} holds ${bad.value} at index ${bad.index}; expected finite values. Lower the learning rate and resume from the previous checkpoint.`);
  }
  let offset = 0;
  const entries = ck.arrays.map((a) => {
    const e = { group: a.group, name: a.name, shape: a.shape, offset, length: a.data.length };
    offset += a.data.length;
    return e;
  });
  const payload = new Float32Array(offset);
  ck.arrays.forEach((a, i) => payload.set(a.data, entries[i].offset));
  const payloadBytes = new Uint8Array(payload.buffer);
  const header = new TextEncoder().encode(JSON.stringify({ epoch: ck.epoch, state: ck.state, entries, bytes: payloadBytes.byteLength }));
  const pad = (4 - ((12 + header.length) % 4)) % 4;
  const body = 12 + header.length + pad + payloadBytes.byteLength;
  const out = new Uint8Array(body + SHA_BYTES);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.length + pad, true);
  out.set(header, 12);
  out.fill(0x20, 12 + header.length, 12 + header.length + pad);
  out.set(payloadBytes, 12 + header.length + pad);
  out.set(createHash('sha256').update(out.subarray(0, body)).digest(), body);
  await writeFileAtomic(file, out, 'checkpoint');
  const all = await listCheckpoints(dir);
  for (const old of all.slice(keep)) {
    try {
      await fsOps.rm(old.file, { force: true });
    } catch (e) {
      throw fsError(e, 'removing old checkpoint', old.file);
    }
  }
  return file;
}

/** Checkpoint files in `dir`, newest first. */
export async function listCheckpoints(dir: string): Promise<{ file: string; epoch: number }[]> {
  let names: string[];
  try {
    names = await fsOps.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fsError(e, 'listing checkpoints in', dir);
  }
  return names
    .map((n) => /^ckpt-(\d+)\.ferckpt$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ file: join(dir, m[0]), epoch: Number(m[1]) }))
    .sort((a, b) => b.epoch - a.epoch);
}

/**
 * Reads and verifies one checkpoint file (sha256 over the whole file, epoch = the file name's); anything
 * wrong throws E_CHECKPOINT_CORRUPT naming the file.
 */
export async function readCheckpoint(file: string): Promise<Checkpoint> {
  const bad = (why: string, cause?: unknown) =>
    new FerModelsError('E_CHECKPOINT_CORRUPT', `${file}: ${why}. Expected a checkpoint written by train(); delete it to fall back to an older one, or start over with overwrite: true (fer train --overwrite).`, cause ? { cause } : undefined);
  let buf: Uint8Array;
  try {
    buf = new Uint8Array(await readFile(file));
  } catch (e) {
    throw bad(`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message} while reading checkpoint)`, e);
  }
  const magic = buf.length >= 12 ? new TextDecoder().decode(buf.subarray(0, 8)) : '';
  const legacy = magic === LEGACY_MAGIC;
  if (magic !== MAGIC && !legacy) throw bad(`got ${buf.length} bytes without the ${MAGIC} header`);
  const end = legacy ? buf.length : buf.length - SHA_BYTES;
  const headerLen = new DataView(buf.buffer, buf.byteOffset).getUint32(8, true);
  if (12 + headerLen > end) throw bad(`header length ${headerLen} runs past the end of the ${buf.length}-byte file (truncated)`);
  if (!legacy) {
    const sha = createHash('sha256').update(buf.subarray(0, end)).digest();
    if (Buffer.compare(sha, buf.subarray(end)) !== 0) throw bad('checksum mismatch (sha256 over header and payload): the file was edited, damaged or truncated after it was written');
  }
  let header: { epoch: number; state: Record<string, unknown>; entries: { group: string; name: string; shape: number[]; offset: number; length: number }[]; sha256?: string; bytes: number };
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(12, 12 + headerLen)));
  } catch (e) {
    throw bad('header is not valid JSON', e);
  }
  const payloadBytes = buf.slice(12 + headerLen, end);
  if (payloadBytes.byteLength !== header.bytes) throw bad(`payload has ${payloadBytes.byteLength} bytes, header says ${header.bytes} (truncated)`);
  if (legacy && createHash('sha256').update(payloadBytes).digest('hex') !== header.sha256) throw bad('payload checksum mismatch (sha256)');
  const named = /ckpt-(\d+)\.ferckpt$/.exec(file);
  if (named && Number(named[1]) !== header.epoch) throw bad(`header says epoch ${header.epoch}, the file name says ${Number(named[1])}`);
  const payload = new Float32Array(payloadBytes.buffer, payloadBytes.byteOffset, payloadBytes.byteLength / 4);
  return {
    epoch: header.epoch,
    state: header.state,
    arrays: header.entries.map((e) => ({ group: e.group, name: e.name, shape: e.shape, data: payload.slice(e.offset, e.offset + e.length) })),
    ...(legacy ? { legacy: true } : {}),
  };
}
