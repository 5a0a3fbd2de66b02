// Streams the first regular `*.csv` entry out of a POSIX (ustar) tar archive, e.g. Kaggle's original
// fer2013.tar.gz (fer2013/, fer2013/fer2013.csv, fer2013/README, ...). Other entries are skipped.

/** True when a 512-byte block is a ustar header ("ustar" at byte 257). */
export function _isTarHeader(b: Uint8Array): boolean {
  return b.length >= 262 && b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72;
}

export class _TarCsvFilter {
  /** Name of the entry being passed on (set once found). */
  entry: string | null = null;
  private readonly hdr = new Uint8Array(512);
  private hdrLen = 0;
  private remaining = 0;
  private pad = 0;
  private passing = false;
  private done = false;
  private readonly sink: (b: Uint8Array) => void;
  private readonly onEntry: (name: string) => void;

  constructor(sink: (b: Uint8Array) => void, onEntry: (name: string) => void) {
    this.sink = sink;
    this.onEntry = onEntry;
  }

  push(buf: Uint8Array): void {
    let i = 0;
    while (i < buf.length && !this.done) {
      if (this.remaining > 0) {
        const k = Math.min(this.remaining, buf.length - i);
        if (this.passing) this.sink(buf.subarray(i, i + k));
        this.remaining -= k;
        i += k;
        if (this.remaining === 0 && this.passing) this.done = true; // one CSV is all we need
        continue;
      }
      if (this.pad > 0) {
        const k = Math.min(this.pad, buf.length - i);
        this.pad -= k;
        i += k;
        continue;
      }
      const k = Math.min(512 - this.hdrLen, buf.length - i);
      this.hdr.set(buf.subarray(i, i + k), this.hdrLen);
      this.hdrLen += k;
      i += k;
      if (this.hdrLen < 512) continue;
      this.hdrLen = 0;
      if (this.hdr.every((b) => b === 0)) { this.done = true; break; } // end-of-archive block
      const name = cstr(this.hdr, 0, 100), prefix = cstr(this.hdr, 345, 155);
      const full = prefix ? `${prefix}/${name}` : name;
      const size = parseInt(cstr(this.hdr, 124, 12).trim() || '0', 8);
      const type = this.hdr[156];
      const base = full.slice(full.lastIndexOf('/') + 1);
      this.passing = (type === 0x30 || type === 0) && /\.csv$/i.test(base) && !base.startsWith('._');
      if (this.passing) {
        this.entry = full;
        this.onEntry(full);
      }
      this.remaining = Number.isFinite(size) ? size : 0;
      this.pad = (512 - (this.remaining % 512)) % 512;
      if (this.passing && this.remaining === 0) this.done = true;
    }
  }
}

function cstr(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return Buffer.from(b.subarray(off, end)).toString('utf8');
}
