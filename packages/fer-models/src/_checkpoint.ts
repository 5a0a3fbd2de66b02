import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './_fs.js';
import { FerModelsError } from './errors.js';

// One checkpoint = one file `ckpt-<epoch>.ferckpt`:
//   8 bytes magic "FERCKPT1" | uint32 LE header length | header JSON (utf-8) | float32 payload.
// The header lists the arrays (group, name, shape, offset) and the payload's sha256.

const MAGIC = 'FERCKPT1';

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
}

export function checkpointFile(dir: string, epoch: number): string {
  return join(dir, `ckpt-${String(epoch).padStart(6, '0')}.ferckpt`);
}

/** Writes a checkpoint atomically and deletes all but the newest `keep` checkpoints. */
export async function writeCheckpoint(dir: string, ck: Checkpoint, keep = 2): Promise<string> {
  let offset = 0;
  const entries = ck.arrays.map((a) => {
    const e = { group: a.group, name: a.name, shape: a.shape, offset, length: a.data.length };
    offset += a.data.length;
    return e;
  });
  const payload = new Float32Array(offset);
  ck.arrays.forEach((a, i) => payload.set(a.data, entries[i].offset));
  const payloadBytes = new Uint8Array(payload.buffer);
  const sha256 = createHash('sha256').update(payloadBytes).digest('hex');
  const header = new TextEncoder().encode(JSON.stringify({ epoch: ck.epoch, state: ck.state, entries, sha256, bytes: payloadBytes.byteLength }));
  const pad = (4 - ((12 + header.length) % 4)) % 4;
  const out = new Uint8Array(12 + header.length + pad + payloadBytes.byteLength);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.length + pad, true);
  out.set(header, 12);
  out.fill(0x20, 12 + header.length, 12 + header.length + pad);
  out.set(payloadBytes, 12 + header.length + pad);
  const file = checkpointFile(dir, ck.epoch);
  await writeFileAtomic(file, out);
  const all = await listCheckpoints(dir);
  for (const old of all.slice(keep)) await rm(old.file, { force: true });
  return file;
}

/** Checkpoint files in `dir`, newest first. */
export async function listCheckpoints(dir: string): Promise<{ file: string; epoch: number }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => /^ckpt-(\d+)\.ferckpt$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ file: join(dir, m[0]), epoch: Number(m[1]) }))
    .sort((a, b) => b.epoch - a.epoch);
}

/** Reads and verifies one checkpoint file; anything wrong throws E_CHECKPOINT_CORRUPT naming the file. */
export async function readCheckpoint(file: string): Promise<Checkpoint> {
  const bad = (why: string, cause?: unknown) =>
    new FerModelsError('E_CHECKPOINT_CORRUPT', `${file}: ${why}. Expected a checkpoint written by train(); delete it to fall back to an older one or start over.`, cause ? { cause } : undefined);
  let buf: Uint8Array;
  try {
    buf = new Uint8Array(await readFile(file));
  } catch (e) {
    throw bad(`cannot read (${(e as Error).message})`, e);
  }
  if (buf.length < 12 || new TextDecoder().decode(buf.subarray(0, 8)) !== MAGIC) throw bad('missing the FERCKPT1 header');
  const headerLen = new DataView(buf.buffer, buf.byteOffset).getUint32(8, true);
  if (12 + headerLen > buf.length) throw bad(`header length ${headerLen} runs past the end of the ${buf.length}-byte file (truncated)`);
  let header: { epoch: number; state: Record<string, unknown>; entries: { group: string; name: string; shape: number[]; offset: number; length: number }[]; sha256: string; bytes: number };
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(12, 12 + headerLen)));
  } catch (e) {
    throw bad('header is not valid JSON', e);
  }
  const payloadBytes = buf.slice(12 + headerLen);
  if (payloadBytes.byteLength !== header.bytes) throw bad(`payload has ${payloadBytes.byteLength} bytes, header says ${header.bytes} (truncated)`);
  const sha = createHash('sha256').update(payloadBytes).digest('hex');
  if (sha !== header.sha256) throw bad('payload checksum mismatch (sha256)');
  const payload = new Float32Array(payloadBytes.buffer, payloadBytes.byteOffset, payloadBytes.byteLength / 4);
  return {
    epoch: header.epoch,
    state: header.state,
    arrays: header.entries.map((e) => ({ group: e.group, name: e.name, shape: e.shape, data: payload.slice(e.offset, e.offset + e.length) })),
  };
}
