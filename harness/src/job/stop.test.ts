import { describe, expect, it } from 'vitest';
import { continueCommand, createStopControl } from './stop.js';

describe('createStopControl', () => {
  it('--hours stops once the clock passes the deadline, and says why', () => {
    let t = 100;
    const s = createStopControl({ hours: 10 / 3600, clock: () => t });
    s.check();
    expect(s.reason).toBeNull();
    t = 109;
    s.check();
    expect(s.signal.aborted).toBe(false);
    t = 110;
    s.check();
    expect(s.reason).toBe('hours');
    expect(s.signal.aborted).toBe(true);
    s.dispose();
  });
  it('an outside signal stops it; bad hours throw', () => {
    const ac = new AbortController();
    const s = createStopControl({ signal: ac.signal });
    expect(s.reason).toBeNull();
    ac.abort();
    expect(s.reason).toBe('signal');
    expect(() => createStopControl({ hours: 0 })).toThrow(/--hours 0: expected a positive number/);
    expect(() => createStopControl({ hours: Number.NaN })).toThrow(/--hours NaN/);
  });
  it('SIGTERM stops at the next check instead of killing the process', () => {
    const lines: string[] = [];
    const before = process.listenerCount('SIGTERM');
    const s = createStopControl({ handleSignals: true, log: (l) => lines.push(l) });
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    process.emit('SIGTERM');
    expect(s.reason).toBe('SIGTERM');
    expect(lines[0]).toMatch(/SIGTERM: stopping after the current training step/);
    s.dispose();
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});

describe('continueCommand', () => {
  it('repeats what identifies the run, quoting what the shell needs', () => {
    expect(continueCommand({ data: '/d/fer 2013.csv', budget: 'paper', seeds: 1, backend: 'auto', workers: 1, out: '/r/p', hours: 2 }))
      .toBe("pnpm reproduce --data '/d/fer 2013.csv' --preset paper --out /r/p --hours 2");
    expect(continueCommand({ budget: 'smoke', seeds: 3, backend: 'cpu', workers: 2, only: ['accuracy', 'histories'], set: ['train.augment=hflip,shift'], out: '/o', keepCheckpoints: true }))
      .toBe('pnpm reproduce --preset smoke --seeds 3 --backend cpu --workers 2 --only accuracy,histories --set train.augment=hflip,shift --out /o --keep-checkpoints');
  });
});
