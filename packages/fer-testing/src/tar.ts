/**
 * A minimal POSIX ustar archive of `[name, content]` pairs (`null` content = a directory), laid out like
 * Kaggle's fer2013.tar.gz: mode 0644, uid/gid 1000, a fixed mtime, 512-byte blocks, two zero blocks at the end.
 */
export function ustarArchive(entries: [name: string, content: Uint8Array | null][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, data] of entries) {
    const h = Buffer.alloc(512);
    h.write(name, 0);
    h.write('0000644\0', 100);
    h.write('0001750\0', 108);
    h.write('0001750\0', 116);
    h.write(`${(data?.length ?? 0).toString(8).padStart(11, '0')}\0`, 124);
    h.write('14413334216\0', 136);
    h.write(data ? '0' : '5', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    h.write('        ', 148);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    parts.push(h);
    if (data) parts.push(Buffer.from(data), Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
