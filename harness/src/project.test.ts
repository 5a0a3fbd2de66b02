import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadProject } from './project.js';

const model = (name: string) => `defineModel({ name: '${name}', description: 'd', paper: { cite: 'none' }, inputs: { image: [48, 48, 1] }, numClasses: 7, defaults: { units: 4 },
  build: (c) => { const i = tf.input({ shape: [48, 48, 1], name: 'image' }); return tf.model({ inputs: i, outputs: tf.layers.dense({ units: 7, activation: 'softmax' }).apply(tf.layers.dense({ units: c.units }).apply(tf.layers.flatten().apply(i))) }); } })`;

describe('fer.config files', () => {
  it('finds fer.config.ts in the folder (TypeScript through tsx), a function of the helpers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fer-config-'));
    writeFileSync(join(dir, 'fer.config.ts'), `export default ({ tf, defineModel }: any) => ({ models: [${model('ts-net')}] });\n`);
    const p = await loadProject({ cwd: dir });
    expect(p.userModels).toEqual(['ts-net']);
    expect(p.registry.create('ts-net', {}, { seed: 1 }).outputs[0].shape).toEqual([null, 7]);
  });

  it('without a config: the built-ins; a bad config names what is wrong', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'fer-config-'));
    expect((await loadProject({ cwd: empty })).userModels).toEqual([]);
    const bad = (text: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'fer-config-'));
      writeFileSync(join(dir, 'fer.config.mjs'), text);
      return loadProject({ cwd: dir });
    };
    await expect(bad('export default { model: [] };')).rejects.toThrow(/unknown key "model"\. Did you mean "models"\?/);
    await expect(bad(`export default ({ tf, defineModel }) => ({ models: [${model('paper-deep')}] });`)).rejects.toThrow(/"paper-deep" is already a built-in model/);
    await expect(bad('export default 3;')).rejects.toMatchObject({ code: 'E_BAD_CONFIG_FILE' });
    await expect(bad('export default {')).rejects.toThrow(/could not be loaded/);
  });

  it('a config that never settles, or throws, ends in E_BAD_CONFIG_FILE naming the file (not exit 13, a hang or a bare "boom")', async () => {
    const write = (text: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'fer-config-'));
      writeFileSync(join(dir, 'fer.config.mjs'), text);
      return dir;
    };
    const never = write('await new Promise(() => {});\nexport default { models: [] };\n');
    await expect(loadProject({ cwd: never, timeoutMs: 300 })).rejects.toMatchObject({ code: 'E_BAD_CONFIG_FILE', message: expect.stringMatching(/fer\.config\.mjs: loading it \(its top-level code and any top-level await\) did not finish within 0\.3 s.*top-level await/) });
    const fnNever = write('export default () => new Promise(() => {});\n');
    await expect(loadProject({ cwd: fnNever, timeoutMs: 300 })).rejects.toMatchObject({ code: 'E_BAD_CONFIG_FILE', message: expect.stringContaining('running its default-export function did not finish within 0.3 s') });
    const throws = write("export default () => { throw new Error('boom'); };\n");
    await expect(loadProject({ cwd: throws })).rejects.toMatchObject({ code: 'E_BAD_CONFIG_FILE', message: expect.stringMatching(/fer\.config\.mjs: its default-export function threw \(boom\)/) });
    const twice = write(`export default ({ tf, defineModel }) => { const m = ${model('twin-net')}; return { models: [m, m] }; };\n`);
    await expect(loadProject({ cwd: twice })).rejects.toThrow(/model "twin-net" is listed twice in models/);

    // Through the CLI: the unsettled top-level await used to end the process with exit code 13 and no output.
    const cli = join(dirname(fileURLToPath(import.meta.url)), 'cli.ts');
    const r = spawnSync(process.execPath, ['--conditions=@fer/source', '--import', 'tsx', cli, 'train', '--model', 'x', '--out', join(never, 'out'), '--config', join(never, 'fer.config.mjs')], {
      encoding: 'utf8', env: { ...process.env, FER_CONFIG_TIMEOUT_MS: '1000' }, timeout: 120_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.status).not.toBe(13);
    expect(r.stderr).toMatch(/E_BAD_CONFIG_FILE.*fer\.config\.mjs: loading it .* did not finish within 1 s/);
  }, 150_000);
});
