// Shared helpers of `fer train`, `fer sweep`, `fer evaluate` and `fer predict` (the @fer/models commands).
import { SPLITS, type SplitName } from '@fer/data';
import type { ProgressEvent } from '@fer/models';
import { formatSeconds } from '../format.js';

export { FerCliError } from '../errors.js';
export { formatSeconds } from '../format.js';

/** Draws progress: a redrawn bar on a TTY, plain lines (every ~10% of an epoch) otherwise. */
export function createProgressRenderer(stream: NodeJS.WriteStream = process.stderr): { update(p: ProgressEvent): void; done(): void } {
  const tty = Boolean(stream.isTTY);
  let lastPlain = -1;
  return {
    update(p) {
      const frac = p.step / p.steps;
      const text = `epoch ${p.epoch}/${p.epochs} step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} acc ${(p.accuracy * 100).toFixed(1)}% ${p.imagesPerSecond.toFixed(0)} img/s ETA ${formatSeconds(p.etaSeconds)}`;
      if (tty) {
        const width = 24;
        const filled = Math.round(frac * width);
        stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}\x1b[K`);
      } else {
        const bucket = Math.floor(frac * 10);
        if (bucket !== lastPlain || p.step === p.steps) {
          lastPlain = bucket;
          stream.write(`${text}\n`);
        }
        if (p.step === p.steps) lastPlain = -1;
      }
    },
    done() {
      if (tty) stream.write('\n');
    },
  };
}


export function isSplit(s: string): s is SplitName {
  return (SPLITS as readonly string[]).includes(s);
}

