// Human-readable quantities of the harness's logs.

/** 3725 -> "1h02m05s". */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s);
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m${String(sec).padStart(2, '0')}s` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/**
 * A count with its noun, plural when it is not 1.
 * @example
 * plural(1, 'epoch') // '1 epoch'
 * plural(30, 'epoch') // '30 epochs'
 */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
