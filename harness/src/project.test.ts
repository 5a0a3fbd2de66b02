import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
