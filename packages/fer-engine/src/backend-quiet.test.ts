// The default path is quiet: initBackend() in `auto` starts Dawn (whose probe prints Vulkan-loader and
// `maxDynamic...BuffersPerPipelineLayout` warnings on stderr) only when a hardware GPU is likely.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hardwareGpuHint } from './_webgpu.js';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));

function fakeLinux(files: string[]) {
  return {
    platform: 'linux',
    exists: (p: string) => files.includes(p),
    list: (d: string) => files.filter((f) => f.startsWith(`${d}/`) && !f.slice(d.length + 1).includes('/')).map((f) => f.slice(d.length + 1)),
  };
}

describe('hardwareGpuHint', () => {
  const loader = '/usr/lib/x86_64-linux-gnu/libvulkan.so.1';
  it('says no without a GPU device node, or without the Vulkan loader', () => {
    expect(hardwareGpuHint(fakeLinux([loader]))).toEqual({ likely: false, why: expect.stringMatching(/no GPU device/) });
    expect(hardwareGpuHint(fakeLinux(['/dev/dri/card0', loader])).likely).toBe(false); // a display-only node
    expect(hardwareGpuHint(fakeLinux(['/dev/nvidia0']))).toEqual({ likely: false, why: expect.stringMatching(/\/dev\/nvidia0 but no Vulkan loader/) });
    expect(hardwareGpuHint(fakeLinux(['/dev/nvidiactl', loader])).likely).toBe(false);
  });

  it('says yes with a render node, an NVIDIA device or WSL and the loader, and on other platforms', () => {
    expect(hardwareGpuHint(fakeLinux(['/dev/dri/renderD128', loader]))).toEqual({ likely: true, why: expect.stringContaining('/dev/dri/renderD128') });
    expect(hardwareGpuHint(fakeLinux(['/dev/nvidia0', '/dev/nvidia1', loader])).why).toMatch(/nvidia0, \/dev\/nvidia1/);
    expect(hardwareGpuHint(fakeLinux(['/dev/dxg', loader])).likely).toBe(true);
    expect(hardwareGpuHint({ platform: 'darwin', exists: () => false, list: () => [] }).likely).toBe(true);
  });
});

describe('initBackend() default path', () => {
  // A child process, as a user's program: no FER_ENGINE_WEBGPU (pnpm test sets it to 0 for its own run).
  function runAuto(extraEnv: Record<string, string> = {}, dawnMayStart = extraEnv['FER_ENGINE_WEBGPU'] === '1') {
    const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
    if (!('FER_ENGINE_WEBGPU' in extraEnv)) delete env['FER_ENGINE_WEBGPU'];
    const code = "import { initBackend } from '@fer/engine'; const r = await initBackend(); console.log(JSON.stringify(r.rejected.find((x) => x.backend === 'webgpu') ?? null)); process.exit(0);";
    const r = spawnSync(process.execPath, ['--conditions=@fer/source', '--import', 'tsx', '--input-type=module', '-e', code], { cwd: pkgDir, env, encoding: 'utf8' });
    // NOTE: once Dawn has started, its teardown at exit can crash the process (scripts/test.mjs); the result line
    // printed before exit is what counts then.
    if (!dawnMayStart) expect(r.status, r.stderr).toBe(0);
    expect(r.stdout, r.stderr).toMatch(/^(null|\{.*\})$/m);
    return { stderr: r.stderr, webgpu: JSON.parse(r.stdout.trim().split('\n').at(-1) ?? 'null') as { why: string } | null };
  }

  const hint = hardwareGpuHint();
  // NOTE: declared where it applies (no skipped test in a run).
  if (!hint.likely) it(`prints nothing and does not start Dawn without a GPU (here: ${hint.why})`, () => {
    const { stderr, webgpu } = runAuto();
    expect(stderr).toBe('');
    expect(webgpu?.why).toBe(`not probed: ${hint.why}; FER_ENGINE_WEBGPU=1 probes anyway`);
  });
  else it(`probes WebGPU when a GPU is likely (here: ${hint.why})`, () => {
    const { webgpu } = runAuto({}, true);
    expect(webgpu?.why ?? '').not.toMatch(/^not probed/);
  });

  it('FER_ENGINE_WEBGPU=1 probes anyway, FER_ENGINE_WEBGPU=0 never', () => {
    expect(runAuto({ FER_ENGINE_WEBGPU: '1' }).webgpu?.why ?? '').not.toMatch(/^not probed/);
    expect(runAuto({ FER_ENGINE_WEBGPU: '0' })).toEqual({ stderr: '', webgpu: { backend: 'webgpu', why: 'not probed: FER_ENGINE_WEBGPU=0' } });
  });
});
