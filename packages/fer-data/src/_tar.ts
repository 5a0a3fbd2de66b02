// Streams the first regular `*.csv` entry out of a POSIX (ustar) tar archive, e.g. Kaggle's original
// fer2013.tar.gz (fer2013/, fer2013/fer2013.csv, fer2013/README, ...). Other entries are skipped.
// Header checksums are verified and the CSV member must be as long as its header declares.
import { FerDataError } from './errors.js';

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
  private declared = 0; // size of the CSV member from its header
  private pos = 0; // archive bytes consumed
  private readonly file: string;
  private readonly sink: (b: Uint8Array) => void;
  private readonly onEntry: (name: string) => void;

  constructor(file: string, sink: (b: Uint8Array) => void, onEntry: (name: string) => void) {
    this.file = file;
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
      const at = this.pos + i - 512;
      if (this.hdr.every((b) => b === 0)) { this.done = true; break; } // end-of-archive block
      const name = cstr(this.hdr, 0, 100), prefix = cstr(this.hdr, 345, 155);
      const full = prefix ? `${prefix}/${name}` : name;
      this.checkSum(full, at);
      const size = this.size(full, at);
      const type = this.hdr[156];
      const base = full.slice(full.lastIndexOf('/') + 1);
      this.passing = (type === 0x30 || type === 0) && /\.csv$/i.test(base) && !base.startsWith('._');
      if (this.passing) {
        this.entry = full;
        this.declared = size;
        this.onEntry(full);
      }
      this.remaining = size;
      this.pad = (512 - (this.remaining % 512)) % 512;
      if (this.passing && this.remaining === 0) this.done = true;
    }
    this.pos += buf.length;
  }

  /** Call at the end of the archive: throws E_TRUNCATED when the CSV member (or a header) was cut short. */
  end(): void {
    if (this.done) return;
    const fix = 'the file is truncated: download it again (and check its sha256)';
    if (this.passing && this.remaining > 0) {
      const got = this.declared - this.remaining;
      throw new FerDataError('E_TRUNCATED', `${this.file}: tar member ${this.entry} declares ${this.declared} bytes but the archive ends after ${got} (at byte ${this.pos}); expected the whole member: ${fix}.`);
    }
    if (this.hdrLen > 0 || this.remaining > 0) {
      throw new FerDataError('E_TRUNCATED', `${this.file}: the tar archive ends at byte ${this.pos} inside ${this.hdrLen > 0 ? 'a member header' : 'a member'}, expected whole 512-byte blocks up to the end-of-archive marker: ${fix}.`);
    }
  }

  // --- Internal helpers ---

  private checkSum(name: string, at: number): void {
    // POSIX ustar: the checksum field (8 bytes at 148) holds the octal sum of all header bytes, counting itself as spaces.
    const field = cstr(this.hdr, 148, 8).trim();
    let unsigned = 0, signed = 0;
    for (let j = 0; j < 512; j++) {
      const b = j >= 148 && j < 156 ? 32 : this.hdr[j];
      unsigned += b;
      signed += b > 127 ? b - 256 : b;
    }
    const stored = /^[0-7]+$/.test(field) ? parseInt(field, 8) : NaN;
    if (stored !== unsigned && stored !== signed) {
      throw new FerDataError('E_CORRUPT', `${this.file}: tar header of ${JSON.stringify(name.slice(0, 100))} at byte ${at} has checksum ${JSON.stringify(field)}, computed ${unsigned.toString(8)} (octal); expected them equal: the archive is damaged, download it again.`);
    }
  }

  private size(name: string, at: number): number {
    if (this.hdr[124] & 0x80) {
      // GNU base-256 for members of 8 GiB and more
      let v = 0;
      for (let j = 125; j < 136; j++) v = v * 256 + this.hdr[j];
      return v;
    }
    const field = cstr(this.hdr, 124, 12).trim();
    if (field === '') return 0;
    if (!/^[0-7]+$/.test(field)) {
      throw new FerDataError('E_CORRUPT', `${this.file}: tar header of ${JSON.stringify(name.slice(0, 100))} at byte ${at}: size field is ${JSON.stringify(field)}, expected octal digits: the archive is damaged, download it again.`);
    }
    return parseInt(field, 8);
  }
}

function cstr(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return Buffer.from(b.subarray(off, end)).toString('utf8');
}
