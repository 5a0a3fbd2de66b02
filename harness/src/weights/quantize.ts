// Quantizes a saved @fer/models model folder into tfjs's quantized weights format: model.json's manifest entries get
// `quantization: { dtype: 'float16' }` (or uint8 with min/scale) and weights.bin holds the smaller values; tfjs's
// loader (tf.io.decodeWeights, used by loadModel and tf.loadLayersModel) dequantizes them to float32.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FerCliError } from '../errors.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 half-precision bits of `v` (rounded to nearest, ties to even; overflow to infinity; NaN kept). */
export function float16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    const full = mant | 0x800000;
    const shift = 14 - e;
    let half = full >>> shift;
    const rem = full & ((1 << shift) - 1), halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // a carry into the exponent is still right
  return sign | half;
}

export type QuantizeDtype = 'float16' | 'uint8';

interface ManifestEntry { name: string; shape: number[]; dtype: string; quantization?: { dtype: string; min?: number; scale?: number } }

/**
 * Writes `outDir`/model.json + weights.bin (quantized) + fer.json (its weightsSha256 updated) from the saved model in
 * `srcDir`. float32 weights are quantized; other dtypes are copied. Returns the byte sizes before and after.
 */
export async function quantizeModelFolder(srcDir: string, outDir: string, dtype: QuantizeDtype = 'float16'): Promise<{ bytesBefore: number; bytesAfter: number }> {
  const read = async (f: string) => {
    try {
      return await readFile(join(srcDir, f));
    } catch (e) {
      throw new FerCliError('E_FS', `cannot read ${join(srcDir, f)} (${(e as NodeJS.ErrnoException).code}); expected a saved model folder (model.json, weights.bin, fer.json from fer train's OUT/model).`, { cause: e });
    }
  };
  const modelJson = JSON.parse((await read('model.json')).toString('utf8'));
  const meta = JSON.parse((await read('fer.json')).toString('utf8'));
  const groups = modelJson.weightsManifest as { paths: string[]; weights: ManifestEntry[] }[];
  const src = Buffer.concat(await Promise.all(groups.flatMap((g) => g.paths).map((p) => read(p))));
  const parts: Buffer[] = [];
  const specs: ManifestEntry[] = [];
  let off = 0;
  for (const s of groups.flatMap((g) => g.weights)) {
    if (s.quantization) throw new FerCliError('E_BAD_OPTION', `${srcDir}: weight ${s.name} is already quantized (${s.quantization.dtype}); expected a float32 model folder as fer train writes it.`);
    const n = s.shape.reduce((a, b) => a * b, 1);
    const bytes = n * (s.dtype === 'bool' || s.dtype === 'uint8' ? 1 : 4);
    const chunk = src.subarray(off, off + bytes);
    off += bytes;
    if (s.dtype !== 'float32') { specs.push(s); parts.push(chunk); continue; }
    const vals = new Float32Array(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + bytes));
    if (dtype === 'float16') {
      const out = Buffer.alloc(n * 2);
      for (let i = 0; i < n; i++) out.writeUInt16LE(float16Bits(vals[i]), i * 2);
      specs.push({ ...s, quantization: { dtype: 'float16' } });
      parts.push(out);
    } else {
      let lo = Infinity, hi = -Infinity;
      for (const v of vals) { if (v < lo) lo = v; if (v > hi) hi = v; }
      const scale = hi > lo ? (hi - lo) / 255 : 1;
      const out = Buffer.alloc(n);
      for (let i = 0; i < n; i++) out[i] = Math.round((vals[i] - lo) / scale);
      specs.push({ ...s, quantization: { dtype: 'uint8', min: lo, scale } });
      parts.push(out);
    }
  }
  if (off !== src.length) throw new FerCliError('E_BAD_OPTION', `${srcDir}: weights.bin has ${src.length} bytes, the manifest accounts for ${off}; expected an intact saved model. Re-save it.`);
  const weights = Buffer.concat(parts);
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'weights.bin'), weights);
  await writeFile(join(outDir, 'model.json'), JSON.stringify({ ...modelJson, weightsManifest: [{ paths: ['weights.bin'], weights: specs }] }));
  await writeFile(join(outDir, 'fer.json'), JSON.stringify({ ...meta, weightsSha256: createHash('sha256').update(weights).digest('hex') }, null, 2));
  return { bytesBefore: src.length, bytesAfter: weights.length };
}
