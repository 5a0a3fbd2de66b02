import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level, so equal configs hash equally. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj).filter((k) => obj[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`).join(',')}}`;
}

/** Short hex digest of a config. */
export function hashConfig(value: unknown, length = 12): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex').slice(0, length);
}

/** FNV-1a over bytes, sampled with a stride: a cheap fingerprint of a data set. */
export function fnv1a(bytes: Uint8Array, stride = 1, h = 0x811c9dc5): number {
  for (let i = 0; i < bytes.length; i += stride) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
