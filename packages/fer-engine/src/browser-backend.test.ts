// initBackend of the browser entry, run in Node with the browser's globals stubbed (navigator.gpu,
// navigator.hardwareConcurrency, OffscreenCanvas): the choice WebGPU > WebGL > WASM, the reasons, and the errors.
// The GPU backends are stand-ins (tfjs's cpu backend registered as 'webgpu' / 'webgl'): this checks the choice,
// not the GPU code (examples/browser runs the real ones in Chromium).
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

const wasmSpy = vi.hoisted(() => ({ threads: [] as number[], paths: [] as unknown[] }));
vi.mock('@tensorflow/tfjs-backend-wasm', async (importOriginal) => {
  const real = await importOriginal<typeof import('@tensorflow/tfjs-backend-wasm')>();
  return {
    ...real,
    setThreadsCount: (n: number) => {
      wasmSpy.threads.push(n);
      real.setThreadsCount(n);
    },
    setWasmPaths: (p: unknown) => {
      wasmSpy.paths.push(p);
    },
  };
});

const { describeBackend, disposeBackend, initBackend, FerEngineError, registerWasmTrainingKernels } = await import('./browser.js');

const cpuFactory = tf.findBackendFactory('cpu')!;

/** A WebGPU adapter as navigator.gpu.requestAdapter returns it. */
function fakeAdapter(info: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean }) {
  return { info, features: new Set(['shader-f16']), limits: { maxBufferSize: 1 << 30 }, requestDevice: async () => ({ destroy() {}, features: new Set<string>() }) };
}
function stubGpu(adapter: ReturnType<typeof fakeAdapter> | null, hardwareConcurrency = 4) {
  const requests: unknown[] = [];
  vi.stubGlobal('navigator', { hardwareConcurrency, gpu: { requestAdapter: async (o: unknown) => (requests.push(o), adapter) } });
  return requests;
}
/** A page whose WebGL context reports `renderer`. */
function stubWebGl(renderer: string) {
  vi.stubGlobal('OffscreenCanvas', class {
    getContext() {
      return { RENDERER: 0x1f01, getExtension: (n: string) => (n === 'WEBGL_debug_renderer_info' ? { UNMASKED_RENDERER_WEBGL: 0x9246 } : null), getParameter: () => renderer };
    }
  });
}
async function expectCode(p: Promise<unknown>, code: string, message: RegExp) {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(FerEngineError);
  expect((e as InstanceType<typeof FerEngineError>).code).toBe(code);
  expect((e as Error).message).toMatch(message);
}

beforeAll(() => {
  // Stand-ins for the GPU backends (Node has no WebGPU/WebGL; tfjs registers its 'webgl' factory only in a browser).
  if (tf.findBackendFactory('webgl')) tf.removeBackend('webgl');
  tf.registerBackend('webgl', cpuFactory, 2);
});

afterEach(async () => {
  vi.unstubAllGlobals();
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  await tf.setBackend('cpu');
});

describe('initBackend (browser entry)', () => {
  it('with neither WebGPU nor WebGL, auto starts WASM with the training kernels, threads from navigator.hardwareConcurrency, and says why', async () => {
    vi.stubGlobal('navigator', { hardwareConcurrency: 3 });
    const info = await initBackend({ wasmPaths: '/wasm/' });
    expect(info.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.rejected).toEqual([
      { backend: 'webgpu', why: expect.stringMatching(/no navigator\.gpu/) },
      { backend: 'webgl', why: expect.stringMatching(/no WebGL context/) },
    ]);
    expect(info.reason).toMatch(/^wasm: .*native kernels off: a Node addon.*WASM training kernels: Conv2DBackpropFilter.*passed over: webgpu/);
    expect(wasmSpy.threads.at(-1)).toBe(3);
    expect(wasmSpy.paths.at(-1)).toBe('/wasm/');
    expect(describeBackend()).toMatchObject({ backend: 'wasm', requested: 'auto', versions: { tfjs: tf.version.tfjs, 'tfjs-backend-wasm': expect.any(String) } });
    expect(registerWasmTrainingKernels().registered).toContain('MaxPoolGrad');
    await initBackend({ backend: 'wasm', threads: 2 });
    expect(wasmSpy.threads.at(-1)).toBe(2);
  });

  it('auto picks WebGPU on a hardware adapter when tfjs-backend-webgpu is imported', async () => {
    const requests = stubGpu(fakeAdapter({ vendor: 'nvidia', architecture: 'ada-lovelace', description: 'NVIDIA GeForce RTX 4090' }));
    await expectCode(initBackend({ backend: 'webgpu' }), 'E_BACKEND_UNAVAILABLE', /tfjs-backend-webgpu not imported.*Fix: add `import '@tensorflow\/tfjs-backend-webgpu'`/);
    tf.registerBackend('webgpu', cpuFactory, 3);
    const info = await initBackend({ powerPreference: 'low-power' });
    expect(info).toMatchObject({ backend: 'webgpu', rejected: [], adapter: { name: 'NVIDIA GeForce RTX 4090', isSoftware: false, features: ['shader-f16'] } });
    expect(info.reason).toBe('webgpu: adapter "NVIDIA GeForce RTX 4090" (hardware)');
    expect(tf.getBackend()).toBe('webgpu');
    expect(requests).toEqual([{ powerPreference: 'low-power' }]);
    expect(describeBackend()).toMatchObject({ backend: 'webgpu', requested: 'auto', adapter: { name: 'NVIDIA GeForce RTX 4090' } });
    await disposeBackend();
    expect(tf.getBackend()).toBe('cpu');
    expect((await initBackend({ backend: 'webgpu' })).backend).toBe('webgpu'); // starts again after disposeBackend
  });

  it('auto passes over a software WebGPU adapter and a software WebGL renderer for WASM; explicit ones need allowSoftwareAdapter', async () => {
    stubGpu(fakeAdapter({ vendor: 'google', description: 'SwiftShader Device (Subzero)' }));
    stubWebGl('ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)');
    tf.registerBackend('webgpu', cpuFactory, 3);
    const info = await initBackend({ backend: 'auto' });
    expect(info.backend).toBe('wasm');
    expect(info.reason).toMatch(/passed over: webgpu \(adapter "SwiftShader Device \(Subzero\)" is software.*\); webgl \(renderer ".*SwiftShader driver\)" is software/);
    expect(info.adapter?.isSoftware).toBe(true);
    await expectCode(initBackend({ backend: 'webgpu' }), 'E_SOFTWARE_ADAPTER', /is software.*Fix: pass \{ allowSoftwareAdapter: true \}/);
    await expectCode(initBackend({ backend: 'webgl' }), 'E_SOFTWARE_ADAPTER', /is software.*Fix: pass \{ allowSoftwareAdapter: true \}/);
    expect(await initBackend({ backend: 'webgpu', allowSoftwareAdapter: true })).toMatchObject({ backend: 'webgpu', reason: expect.stringMatching(/software, allowed by allowSoftwareAdapter/) });
    expect(await initBackend({ backend: 'webgl', allowSoftwareAdapter: true })).toMatchObject({ backend: 'webgl', renderer: expect.stringMatching(/SwiftShader/) });
  });

  it('auto picks WebGL on a hardware renderer when there is no WebGPU', async () => {
    stubGpu(null);
    stubWebGl('ANGLE (NVIDIA, NVIDIA GeForce RTX 4090 Direct3D11 vs_5_0 ps_5_0)');
    tf.registerBackend('webgpu', cpuFactory, 3);
    const info = await initBackend();
    expect(info).toMatchObject({ backend: 'webgl', renderer: expect.stringMatching(/RTX 4090/), rejected: [{ backend: 'webgpu', why: expect.stringMatching(/no WebGPU adapter/) }] });
    expect(describeBackend()).toMatchObject({ backend: 'webgl', renderer: expect.stringMatching(/RTX 4090/) });
    await expectCode(initBackend({ backend: 'webgpu' }), 'E_NO_ADAPTER', /requestAdapter returned null/);
  });

  it('Node-only requests throw a typed error that says so', async () => {
    await expectCode(initBackend({ backend: 'tensorflow' as 'auto' }), 'E_BACKEND_UNAVAILABLE', /tfjs-node is a Node addon \(Node-only\)/);
    await expectCode(initBackend({ backend: 'wasm', native: true }), 'E_NATIVE_UNAVAILABLE', /native kernels are a Node addon/);
    await expectCode(initBackend({ backend: 'webgl' }), 'E_BACKEND_UNAVAILABLE', /no WebGL context/);
    await expectCode(initBackend({ backend: 'metal' as 'auto' }), 'E_UNKNOWN_BACKEND', /expected one of auto, webgpu, webgl, wasm, cpu/);
    await expectCode(initBackend({ backend: 'wasm', threads: 0 }), 'E_BAD_OPTION', /threads 0/);
    expect(tf.getBackend()).toBe('cpu'); // nothing switched
  });

  it('the browser entry does not export the Node-only parts', async () => {
    const entry = await import('./browser.js');
    expect(Object.keys(entry).sort()).toEqual(['FerEngineError', 'describeBackend', 'disposeBackend', 'initBackend', 'registerWasmTrainingKernels']);
  });
});
