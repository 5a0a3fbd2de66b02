// PNG/JPEG decoding with one pixel cap, checked from the file's header before anything is allocated.
// Every image read of the project (loadImageFolder, the harness's fer predict) goes through decodeImage.
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { FerDataError } from './errors.js';

/**
 * Most pixels an image may declare (2^25, e.g. 8192x4096: 128 MiB as RGBA), read from its PNG IHDR or JPEG SOF
 * header before decoding, so a small file claiming a huge picture (a decompression bomb) is refused up front.
 */
export const MAX_IMAGE_PIXELS = 2 ** 25;

/** Bytes per pixel jpeg-js may count while decoding (4 components: 4x4 DCT, 4x2 planes, 4 RGBA). */
const JPEG_BYTES_PER_PIXEL = 28;

/** Format and size of a PNG or JPEG, from its header alone. */
export interface ImageHeader {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
}

/**
 * Reads the format and size of a PNG (IHDR) or JPEG (first SOFn marker) from its bytes without decoding.
 * Returns null when the bytes are neither, or the header is cut short.
 * @example
 * readImageHeader(await readFile('face.png')); // { format: 'png', width: 48, height: 48 }
 */
export function readImageHeader(buf: Uint8Array): ImageHeader | null {
  const u32 = (o: number) => ((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0;
  const u16 = (o: number) => (buf[o] << 8) | buf[o + 1];
  if (buf.length >= 24 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47) {
    // Signature (8), then the IHDR chunk: length (4), "IHDR" (4), width (4), height (4), big-endian.
    if (buf[12] !== 0x49 || buf[13] !== 0x48 || buf[14] !== 0x44 || buf[15] !== 0x52) return null;
    return { format: 'png', width: u32(16), height: u32(20) };
  }
  if (buf.length >= 4 && buf[0] === 0xff && buf[1] === 0xd8) {
    let o = 2;
    while (o + 4 <= buf.length) {
      if (buf[o] !== 0xff) return null;
      const m = buf[o + 1];
      if (m === 0xff) { o++; continue; } // fill byte
      if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { o += 2; continue; } // no length
      if (m === 0xd9 || m === 0xda) return null; // end of image / start of scan before any frame header
      const len = u16(o + 2);
      // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC): length (2), precision (1), height (2), width (2).
      if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
        if (o + 9 > buf.length) return null;
        return { format: 'jpeg', width: u16(o + 7), height: u16(o + 5) };
      }
      if (len < 2) return null;
      o += 2 + len;
    }
  }
  return null;
}

/** Options of {@link decodeImage}. */
export interface DecodeImageOptions {
  /** Name of the image in error messages (a path). */
  name?: string;
  /** Most pixels accepted (default {@link MAX_IMAGE_PIXELS}). */
  maxPixels?: number;
  /** How to fix an oversized image, appended to the error message. */
  hint?: string;
}

/**
 * Decodes a PNG or JPEG to 8-bit RGBA. The size is read from the header first: over `maxPixels`, or no readable
 * header, throws `E_BAD_IMAGE` before any pixel memory is allocated. A damaged file throws `E_BAD_IMAGE` too.
 * @example
 * const { data, width, height } = decodeImage(await readFile('photo.jpg'), { name: 'photo.jpg' });
 */
export function decodeImage(buf: Uint8Array, opts: DecodeImageOptions = {}): { data: Uint8Array; width: number; height: number; channels: 4 } {
  const name = opts.name ?? 'image';
  const max = opts.maxPixels ?? MAX_IMAGE_PIXELS;
  const head = readImageHeader(buf);
  if (!head) {
    const png = buf[0] === 0x89 && buf[1] === 0x50, jpg = buf[0] === 0xff && buf[1] === 0xd8;
    throw new FerDataError('E_BAD_IMAGE', png || jpg
      ? `could not decode ${name} (${buf.length} bytes) as ${png ? 'PNG' : 'JPEG'}: no ${png ? 'IHDR header' : 'frame header (SOF) before the image data'}; expected a complete PNG or JPEG image. The file is truncated or damaged: re-export it.`
      : `${name} (${buf.length} bytes) is neither PNG nor JPEG (first bytes ${Buffer.from(buf.subarray(0, 4)).toString('hex') || 'none: empty file'}); expected a PNG or JPEG image.`);
  }
  const { width: w, height: h } = head;
  if (!(w > 0 && h > 0)) throw new FerDataError('E_BAD_IMAGE', `${name}: its ${head.format.toUpperCase()} header says ${w}x${h}, expected a positive width and height. The file is damaged: re-export it.`);
  if (w * h > max) {
    throw new FerDataError('E_BAD_IMAGE', `${name}: ${head.format.toUpperCase()} is ${w}x${h} (${(w * h).toLocaleString('en-US')} pixels, ${((w * h * 4) / 2 ** 30).toFixed(1)} GiB as RGBA), expected at most ${max.toLocaleString('en-US')} pixels (e.g. 8192x4096); refused before decoding. ${opts.hint ?? 'Resize it.'}`);
  }
  try {
    if (head.format === 'png') {
      const png = PNG.sync.read(Buffer.from(buf.buffer, buf.byteOffset, buf.length)); // always 8-bit RGBA out
      return { data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length), width: png.width, height: png.height, channels: 4 };
    }
    // The header's size passed the cap; jpeg-js's own limits are set from that size. NOTE: jpeg-js counts about
    // 4 bytes per pixel per component for its DCT blocks, 2 more per component for its planes and 4 for the RGBA
    // output: up to 28 bytes per pixel (CMYK). A limit below that (it was 10 per pixel of the cap) refused valid
    // JPEGs well under the pixel cap (a 4096x4096 photo) as "truncated or damaged".
    // Blocks are whole MCUs (up to 32x32 pixels), so a thin picture counts more; never more than the cap's own worth.
    const padded = Math.ceil(w / 32) * 32 * Math.ceil(h / 32) * 32;
    const maxMemoryUsageInMB = Math.ceil((Math.min(padded, max) * JPEG_BYTES_PER_PIXEL) / 2 ** 20) + 16;
    const j = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: (w * h) / 1e6 + 1, maxMemoryUsageInMB });
    if (j.data.length < j.width * j.height * 4) throw new Error(`decoded ${j.width}x${j.height} with ${j.data.length} bytes of pixels`);
    return { data: j.data, width: j.width, height: j.height, channels: 4 };
  } catch (e) {
    const msg = (e as Error)?.message ?? String(e);
    if (/^(maxMemoryUsageInMB|maxResolutionInMP) limit exceeded/.test(msg)) {
      throw new FerDataError('E_BAD_IMAGE', `${name}: decoding this ${w}x${h} JPEG (${buf.length} bytes) needs more memory than a picture within the pixel cap may take (jpeg-js: ${msg}); expected at most ${max.toLocaleString('en-US')} pixels in a plain frame. ${opts.hint ?? 'Resize it (or re-export it: a file whose data does not match its header is damaged).'}`, { cause: e });
    }
    throw new FerDataError('E_BAD_IMAGE', `could not decode ${name} (${buf.length} bytes) as ${head.format.toUpperCase()}: ${(e as Error)?.message ?? String(e)}; expected a complete PNG or JPEG image. The file is truncated or damaged: re-export it.`, { cause: e });
  }
}
