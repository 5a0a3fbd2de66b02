import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { JEMALLOC, JEMALLOC_CONF, isaEnv, loadNow, parseIsa, parsePeerMalloc, peerEnv, spread } from './_peer.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('bench peer environment', () => {
  it('preloads jemalloc with decay off when the library is there, and says so', () => {
    const lib = fileURLToPath(import.meta.url); // any existing file stands in for the library
    const p = peerEnv({ jemallocPath: lib, base: { PATH: '/bin', LD_PRELOAD: '/other.so' } });
    expect(p.malloc).toBe('jemalloc');
    expect(p.env['LD_PRELOAD']).toBe(`${lib}:/other.so`);
    expect(p.env['MALLOC_CONF']).toBe(JEMALLOC_CONF);
    expect(p.env['PATH']).toBe('/bin');
    expect(p.note).toBeUndefined();
  });

  it('falls back to glibc with a note when the library is missing, and drops an inherited jemalloc for --peer-malloc glibc', () => {
    const missing = peerEnv({ jemallocPath: '/nonexistent/libjemalloc.so.2', base: {} });
    expect(missing.malloc).toBe('glibc');
    expect(missing.env['LD_PRELOAD']).toBeUndefined();
    expect(missing.note).toMatch(/libjemalloc2/);
    const glibc = peerEnv({ malloc: 'glibc', base: { LD_PRELOAD: JEMALLOC, MALLOC_CONF: JEMALLOC_CONF } });
    expect(glibc).toEqual({ env: {}, malloc: 'glibc' });
  });

  it('restricts oneDNN on both sides and ATen on the peer for --isa avx2', () => {
    expect(isaEnv('native', 'torch')).toEqual({});
    expect(isaEnv('avx2', 'ours')).toEqual({ ONEDNN_MAX_CPU_ISA: 'AVX2', DNNL_MAX_CPU_ISA: 'AVX2' });
    expect(isaEnv('avx2', 'torch')).toMatchObject({ ONEDNN_MAX_CPU_ISA: 'AVX2', ATEN_CPU_CAPABILITY: 'avx2' });
    expect(peerEnv({ malloc: 'glibc', isa: 'avx2', base: {} }).env).toMatchObject({ ATEN_CPU_CAPABILITY: 'avx2' });
  });

  it('parses --peer-malloc and --isa, naming what it expected', () => {
    expect(parsePeerMalloc('--peer-malloc', 'glibc')).toBe('glibc');
    expect(() => parsePeerMalloc('--peer-malloc', 'tcmalloc')).toThrow(/--peer-malloc: got "tcmalloc", expected jemalloc or glibc/);
    expect(parseIsa('--isa', 'avx2')).toBe('avx2');
    expect(() => parseIsa('--isa', 'avx512')).toThrow(/expected native or avx2/);
  });

  it('gives the median (mean of the middle two for an even count), min and max', () => {
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(spread([4, 1, 2, 10])).toEqual({ median: 3, min: 1, max: 10, n: 4 });
    expect(spread([NaN])).toMatchObject({ n: 0 });
    expect(loadNow()).toHaveLength(3);
  });

  const torchOk = existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
  const reference = resolve(here, '../../../../shared/bench/torch_reference.py');
  it.skipIf(!torchOk || !existsSync(reference) || !existsSync(JEMALLOC))('runs torch_models.py with jemalloc mapped and reports its training peak RSS', () => {
    const { env } = peerEnv();
    const r = spawnSync('/usr/bin/python3', [resolve(here, '../../peers/torch_models.py'), '--script', reference, '--model', 'shallow', '--threads', '1', '--batch', '2', '--steps', '1'], { encoding: 'utf8', env });
    expect(r.status, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(line).toMatchObject({ model: 'shallow', threads: 1, batch: 2, jemalloc_mapped: true });
    expect(line['peak_rss_train_mb']).toBeGreaterThan(0);
    expect(line['peak_rss_mb']).toBeGreaterThanOrEqual(line['peak_rss_train_mb'] as number);
  }, 60_000);
});
