import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { epochsDone } from './_eta.js';

describe('the ETA counts the epochs a job folder already holds', () => {
  it('reads checkpoints/ (the job layout) and checkpoint/ (older reproduction folders); none is 0', () => {
    const job = (dir: string, names: string[]) => {
      const d = mkdtempSync(join(tmpdir(), 'fer-eta-'));
      mkdirSync(join(d, dir));
      for (const n of names) writeFileSync(join(d, dir, n), '');
      return d;
    };
    expect(epochsDone(job('checkpoints', ['ckpt-000001.ferckpt', 'ckpt-000002.ferckpt', 'partial.ferckpt']))).toBe(2);
    expect(epochsDone(job('checkpoint', ['ckpt-000003.ferckpt']))).toBe(3);
    expect(epochsDone(job('model', ['ckpt-000004.ferckpt']))).toBe(0);
  });
});
