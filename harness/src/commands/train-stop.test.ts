// Issue 26: `fer train` stops cleanly (Ctrl-C, SIGTERM, --hours: the one stop mechanism of pnpm reproduce,
// ../job/stop.ts), prints the command that continues, says up front when a run is long, and labels its
// two PublicTest accuracies; `fer evaluate` shows the no-skill baselines.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backendLine, backendName } from '../backend.js';
import { trainContinueCommand } from '../job/stop.js';
import { formatEvaluation, runEvaluate } from './evaluate.js';
import { runTrain } from './train.js';

const tiny = ['model.filters=[2,2]', 'model.denseUnits=4', 'batch=16', 'limit=64', 'data.validationLimit=32'];

describe('fer train: stop, continue, long runs, labels', () => {
  it('a stop mid-epoch checkpoints and prints the one command that continues; --resume finishes the run', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fer-train-stop-')), 'run');
    const ac = new AbortController();
    const lines: string[] = [];
    const stopped = await runTrain({
      model: 'paper-shallow', data: 'synthetic', out, backend: 'cpu', sets: [...tiny, 'epochs=2'], log: (l) => lines.push(l),
      stopSignal: ac.signal, longRunSeconds: 0,
      onProgress: (p) => { if (p.epoch === 1 && p.step === 3) ac.abort(); },
    });
    expect(stopped.metrics).toBeNull();
    expect(stopped.outcome).toMatchObject({ status: 'in progress', at: { epoch: 1, step: 3 } });
    expect(existsSync(join(out, 'checkpoints', 'partial.ferckpt'))).toBe(true);
    const text = lines.join('\n');
    // said up front (a few steps in) that the run is long, and how to stop and continue it
    expect(text).toMatch(/note: this run is long here: ETA .* Ctrl-C \(or --hours H\) stops it cleanly at the next step with a checkpoint; continue it with:\n {2}pnpm fer train --model paper-shallow --data synthetic --set/);
    expect(text).toMatch(/Stopped on request \(a stop was requested\) in epoch 1 of 2 \(step 3 of \d+\); checkpoint saved/);
    const command = trainContinueCommand({ model: 'paper-shallow', data: 'synthetic', out, set: [...tiny, 'epochs=2'], backend: 'cpu' });
    expect(stopped.stopped?.command).toBe(command);
    expect(text).toContain(`Continue exactly where it stopped with:\n  ${command}`);
    expect(command).toMatch(/--out \S+ --resume$/);

    const done: string[] = [];
    const finished = await runTrain({ model: 'paper-shallow', data: 'synthetic', out, backend: 'cpu', sets: [...tiny, 'epochs=2'], resume: true, log: (l) => done.push(l), onProgress: () => undefined });
    expect(finished.metrics?.epochs).toBe(2);
    expect(finished.outcome).toMatchObject({ resumedFrom: 0 });
    const all = done.join('\n');
    // the PublicTest accuracies, labelled as on a subset of the split (the job's evalLimit), with how to use all of it
    expect(all).toMatch(/val_acc [\d.]+% \(PublicTest subset, (\d+) of 350 rows\)/);
    expect(all).toMatch(/PublicTest accuracy [\d.]+% on a \d+-row subset of 350 \(--set train.evalLimit=0 for all\) \(the best epoch's weights: epoch \d\)/);
    expect(all).not.toMatch(/note: this run is long/); // default threshold: an hour
    expect(all.split('\n')[0]).toBe('backend: tfjs cpu (plain JavaScript, slow)');
    // the last line names the backend as the first does (not tfjs's name "wasm" for the native kernels)
    expect(all).toMatch(/PrivateTest [\d.]+% on a \d+-row subset of 350, \S+ on tfjs cpu -- SYNTHETIC data/);
    expect(all).toMatch(/, 2 epochs of \d+ steps\n/);

    const e = await runEvaluate({ model: join(out, 'model'), data: 'synthetic', split: 'PublicTest', backend: 'cpu', log: () => undefined });
    expect(formatEvaluation(e)).toMatch(/^PublicTest \(SYNTHETIC data\): accuracy [\d.]+% \(\d+\/350\)\nBaselines \(no skill\): chance 14\.3% \(a uniform guess over 7 classes\) · always the majority class: \w+ \d+\.\d% of PublicTest \(350 rows\)\./);
  }, 300_000);
});

describe('backendLine', () => {
  it('is one short line by default; --verbose adds the details', () => {
    const reason = 'wasm: wasm: tfjs-backend-wasm 4.22.0 (SIMD, 1 thread) native kernels: oneDNN 3.0 avx2 libdnnl.so.3 ...'.repeat(4);
    const b = { backend: 'wasm', reason, gpu: false, native: true, threads: 2 };
    expect(backendLine(b)).toBe('backend: native oneDNN kernels (2 threads)');
    expect(backendLine({ ...b, native: false, threads: undefined })).toMatch(/^backend: WASM kernels \(the native oneDNN kernels are not running/);
    expect(backendLine(b, true)).toBe(`backend: native oneDNN kernels (2 threads)\n  details: wasm: ${reason}`);
    expect(backendLine(b).length).toBeLessThan(80);
    expect(backendName(b)).toBe('native oneDNN kernels');
    expect(backendName({ backend: 'wasm', native: false })).toBe('WASM kernels');
  });
});
