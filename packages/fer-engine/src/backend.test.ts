// initBackend / describeBackend / disposeBackend: the choice, the reasons, and the errors.
// Uses the machine's real setup: tfjs-node(-gpu) are not installed here; Dawn finds lavapipe (software)
// when mesa-vulkan-drivers 25.x is installed (as .ci/run does), and a hardware adapter on a GPU machine.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { describeBackend, disposeBackend, initBackend } from './backend.js';
import { softwareAdapterReason } from './_webgpu.js';

afterAll(async () => {
  await disposeBackend();
});

describe('softwareAdapterReason', () => {
  it('flags CPU implementations and Dawn fallback adapters', () => {
    // Dawn 0.3.8 on Mesa 25.0.7 lavapipe, as seen on this machine:
    const lavapipe = { vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1' };
    expect(softwareAdapterReason(lavapipe)).toMatch(/software/);
    expect(softwareAdapterReason({ ...lavapipe, architecture: '' })).toMatch(/llvmpipe/);
    expect(softwareAdapterReason({ vendor: 'google', description: 'SwiftShader Device (Subzero)' })).toMatch(/SwiftShader/);
    expect(softwareAdapterReason({ vendor: 'microsoft', description: 'Microsoft Basic Render Driver' })).toBeDefined();
    expect(softwareAdapterReason({ vendor: 'nvidia', description: 'NVIDIA GeForce RTX 4090' }, true)).toMatch(/fallback/);
  });

  it('accepts hardware adapters, including Mesa hardware drivers', () => {
    expect(softwareAdapterReason({ vendor: 'nvidia', architecture: 'ada-lovelace', description: 'NVIDIA GeForce RTX 4090' })).toBeUndefined();
    expect(softwareAdapterReason({ vendor: 'amd', architecture: 'rdna-3', description: 'AMD Radeon RX 7900 XTX (RADV NAVI31)' })).toBeUndefined();
    expect(softwareAdapterReason({ vendor: 'intel', architecture: 'xe-lpg', description: 'Intel(R) Arc(tm) Graphics (MTL) Mesa 25.0.7' })).toBeUndefined();
  });
});

describe('initBackend', () => {
  it('cpu and wasm start on request and say so', async () => {
    const cpu = await initBackend({ backend: 'cpu' });
    expect(cpu).toMatchObject({ backend: 'cpu', rejected: [] });
    expect(tf.getBackend()).toBe('cpu');
    const wasm = await initBackend({ backend: 'wasm' });
    expect(wasm.backend).toBe('wasm');
    expect(wasm.reason).toMatch(/^wasm: requested/);
    expect(describeBackend()).toMatchObject({ backend: 'wasm', requested: 'wasm', versions: { tfjs: tf.version.tfjs, 'tfjs-backend-wasm': expect.any(String) } });
  });

  it('auto passes over tfjs-node and software adapters, and says why', async () => {
    const info = await initBackend({ backend: 'auto' });
    expect(['tensorflow', 'webgpu', 'wasm']).toContain(info.backend);
    expect(tf.getBackend()).toBe(info.backend);
    if (info.backend !== 'tensorflow') {
      expect(info.rejected.find((r) => r.backend === 'tensorflow')?.why).toMatch(/tfjs-node-gpu/);
      expect(info.reason).toContain('passed over: tensorflow');
    }
    if (info.backend === 'webgpu') expect(info.adapter?.isSoftware).toBe(false);
    if (info.adapter?.isSoftware) {
      expect(info.backend).not.toBe('webgpu');
      expect(info.reason).toMatch(/webgpu \(adapter ".*" is software/);
    }
  });

  it('auto with FER_ENGINE_WEBGPU=0 does not probe WebGPU and says so', async () => {
    const prev = process.env['FER_ENGINE_WEBGPU'];
    process.env['FER_ENGINE_WEBGPU'] = '0';
    try {
      const info = await initBackend({ backend: 'auto' });
      expect(info.backend).toBe('wasm');
      expect(info.rejected.find((r) => r.backend === 'webgpu')?.why).toBe('not probed: FER_ENGINE_WEBGPU=0');
      expect(info.adapter).toBeUndefined();
      expect(info.reason).toContain('webgpu (not probed: FER_ENGINE_WEBGPU=0)');
    } finally {
      if (prev === undefined) delete process.env['FER_ENGINE_WEBGPU'];
      else process.env['FER_ENGINE_WEBGPU'] = prev;
    }
  });

  it('explicit tensorflow without tfjs-node throws E_BACKEND_UNAVAILABLE explaining the 403 and the fix', async () => {
    const err = await initBackend({ backend: 'tensorflow' }).catch((e: unknown) => e);
    if (!(err instanceof Error)) return; // tfjs-node is installed and works here
    expect(err).toMatchObject({ code: 'E_BACKEND_UNAVAILABLE' });
    expect(err.message).toMatch(/403/);
    expect(err.message).toMatch(/--ignore-scripts/);
    expect(err.message).toMatch(/deps\/lib/);
  });

  it('explicit webgpu with no Vulkan driver throws E_NO_ADAPTER saying what is missing and how to get it', async () => {
    if (process.platform !== 'linux') return;
    const saved = process.env.VK_ICD_FILENAMES;
    process.env.VK_ICD_FILENAMES = '/nonexistent/fer-test_icd.json';
    try {
      const err = await initBackend({ backend: 'webgpu', allowSoftwareAdapter: true }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_NO_ADAPTER' });
      const message = (err as Error).message;
      expect(message).toMatch(/VK_ICD_FILENAMES=\/nonexistent\/fer-test_icd.json \(missing/);
      expect(message).toMatch(/mesa-vulkan-drivers/);
      expect(message).toMatch(/bookworm-backports/);
      expect(message).toMatch(/NVIDIA/);
      expect(message).toMatch(/vulkaninfo/);
    } finally {
      if (saved === undefined) delete process.env.VK_ICD_FILENAMES;
      else process.env.VK_ICD_FILENAMES = saved;
    }
  });

  it('explicit webgpu on a software adapter needs allowSoftwareAdapter, then reports the adapter', async () => {
    const probe = await initBackend({ backend: 'webgpu' }).catch((e: { code?: string }) => e);
    if ((probe as { code?: string }).code === 'E_NO_ADAPTER') return; // no Vulkan driver here: covered above
    if ((probe as { code?: string }).code === 'E_SOFTWARE_ADAPTER') {
      expect((probe as Error).message).toMatch(/allowSoftwareAdapter: true/);
    }
    const info = await initBackend({ backend: 'webgpu', allowSoftwareAdapter: true });
    expect(info.backend).toBe('webgpu');
    expect(info.adapter).toMatchObject({ name: expect.any(String), vendor: expect.any(String), isSoftware: expect.any(Boolean) });
    expect(info.adapter!.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    const d = describeBackend();
    expect(d).toMatchObject({ backend: 'webgpu', requested: 'webgpu', adapter: { name: info.adapter!.name } });
    expect(d.versions).toMatchObject({ webgpu: expect.any(String), 'tfjs-backend-webgpu': expect.any(String) });
    const y = tf.tidy(() => tf.matMul(tf.ones([8, 8]), tf.ones([8, 8])));
    expect((await y.data())[0]).toBe(8);
    y.dispose();
    await disposeBackend();
    expect(tf.getBackend()).toBe('cpu');
    expect(tf.findBackendFactory('webgpu')).toBeFalsy();
  });

  it('works in a plain Node process (not only vitest), which exits after disposeBackend()', () => {
    // Regression: Dawn keeps the event loop busy while a device lives, and crashes the process (SIGSEGV)
    // if its instance is collected while a device is alive; disposeBackend must end this cleanly.
    const backendTs = fileURLToPath(new URL('./backend.ts', import.meta.url));
    const code = `const { initBackend, disposeBackend } = await import(${JSON.stringify(backendTs)});
      const info = await initBackend({ backend: 'webgpu', allowSoftwareAdapter: true }).catch((e) => ({ backend: e.code }));
      await disposeBackend();
      process.stdout.write(String(info.backend));`;
    const r = spawnSync(process.execPath, ['--conditions=@fer/source', '--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8', timeout: 60_000,
    });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(['webgpu', 'E_NO_ADAPTER']).toContain(r.stdout.trim());
  }, 90_000);

  it('rejects an unknown backend with the list of known ones', async () => {
    await expect(initBackend({ backend: 'cuda' as never })).rejects.toMatchObject({ code: 'E_UNKNOWN_BACKEND', message: expect.stringMatching(/auto, wasm, webgpu, tensorflow, cpu/) });
  });
});
