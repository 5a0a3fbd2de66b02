// The README doc-test (see doc-test.mjs): every published package is packed and installed from its tarball
// into one fresh npm project, and every README block marked runnable runs there verbatim, its printed output
// checked against its `// -> ...` comments. A deliberately broken README shows that a broken example fails.
import { rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareProject, publishedPackages, readmeBlocks, runBlock } from './doc-test.mjs';
import { checkOutput, runnableBlocks } from './readme.mjs';

const LONG = 600_000; // a hang guard only: nothing here depends on speed

type Prepared = Awaited<ReturnType<typeof prepareProject>>;
let prep: Prepared | undefined;
let prepError: unknown;

beforeAll(async () => {
  try {
    prep = await prepareProject();
  } catch (e) {
    prepError = e;
  }
}, 1_800_000);

afterAll(() => {
  if (prep && process.env['FER_DOC_TEST_KEEP'] !== '1') rmSync(prep.dir, { recursive: true, force: true });
});

function prepared(): Prepared {
  if (!prep) throw new Error(`packing and installing the packages failed: ${String((prepError as Error)?.message ?? prepError)}`);
  return prep;
}

describe('README blocks and output checks (readme.mjs)', () => {
  it('finds only blocks marked runnable, with their file and expectations', () => {
    const md = ['```js runnable file=a.mjs', 'console.log(1); // -> 1', '```', '```js', 'x', '```', '```sh', 'npm i x', '```'].join('\n');
    expect(runnableBlocks(md)).toEqual([{ file: 'a.mjs', lang: 'js', code: 'console.log(1); // -> 1\n', line: 1, expected: [{ text: '1', line: 2 }], uses: [] }]);
    expect(() => runnableBlocks('```js runnable\nx\n```')).toThrow(/file=<name>\.mjs/);
    expect(runnableBlocks('```js runnable file=b.mjs uses=fixtures/a.jpg,b.txt\nx\n```')[0].uses).toEqual(['fixtures/a.jpg', 'b.txt']);
    expect(() => runnableBlocks('```js runnable file=b.mjs uses=../secret\nx\n```')).toThrow(/inside the package/);
  });

  it('matches expectations in order, whitespace-insensitive, with ... as a wildcard', () => {
    const block = { expected: [{ text: '{ a: 1, b: ... }', line: 3 }, { text: 'done', line: 4 }] } as ReturnType<typeof runnableBlocks>[number];
    expect(checkOutput(block, '{\n  a: 1,\n  b: [ 2, 3 ]\n}\ndone\n')).toBeUndefined();
    expect(checkOutput(block, 'done\n{ a: 1, b: 2 }\n')).toMatch(/README line 4: expected "done" .* got nothing more/);
    expect(checkOutput(block, '{ a: 2, b: 2 }')).toMatch(/README line 3: expected "\{ a: 1, b: \.\.\. \}"/);
  });
});

describe.each(publishedPackages())('$name', (pkg) => {
  const readme = join(pkg.dir, 'README.md');
  const blocks = readmeBlocks(readme);

  it('has at least one runnable README example', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  it('packs with LICENSE, README.md and what "files" lists', () => {
    const p = prepared();
    const skipped = p.skipped.find((s) => s.name === pkg.name);
    if (skipped) {
      // Only the native addon without g++/oneDNN outside CI (doc-test.mjs); say so instead of passing silently.
      expect.soft(skipped.why, `${pkg.name} was not packed here`).toBe('');
      return;
    }
    const files = p.tarballs.find((t) => t.name === pkg.name)!.files;
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json']));
    for (const f of pkg.manifest.files ?? []) expect(files.some((x: string) => x === f || x.startsWith(`${f}/`)), `${f} in the tarball`).toBe(true);
  }, LONG);

  for (const block of blocks) {
    it(`README line ${block.line}: ${block.file} runs verbatim and prints what it says`, async () => {
      const r = await runBlock({ project: prepared().project, folder: basename(pkg.dir), block, packageDir: pkg.dir });
      expect(r.ok, r.message).toBe(true);
    }, LONG);
  }
});

describe('a deliberately broken README fails', () => {
  const blocks = readmeBlocks(join(import.meta.dirname, '__fixtures__', 'broken', 'README.md'));
  const run = (file: string) => runBlock({ project: prepared().project, folder: 'broken-fixture', block: blocks.find((b) => b.file === file)! });

  it('runs only the blocks marked runnable', () => {
    expect(blocks.map((b) => b.file)).toEqual(['good.mjs', 'wrong-output.mjs', 'bad-import.mjs', 'example.js', 'noisy.mjs']);
  });

  it('passes the right block', async () => {
    const r = await run('good.mjs');
    expect(r.ok, r.message).toBe(true);
  }, LONG);

  it('fails on output other than the comment says, naming the line and what came', async () => {
    expect((await run('wrong-output.mjs')).message).toMatch(/README line 14: expected "900" in the output; got "1296"/);
  }, LONG);

  it('fails on an import the package does not have', async () => {
    expect((await run('bad-import.mjs')).message).toMatch(/exited with 1:[\s\S]*does not provide an export named 'hogFeatures'/);
  }, LONG);

  it('fails on ES module syntax in a .js file of a default (commonjs) npm project', async () => {
    expect((await run('example.js')).message).toMatch(/exited with 1:[\s\S]*(Cannot use import statement outside a module|ES module)/);
  }, LONG);

  it('fails when the example writes to stderr', async () => {
    expect((await run('noisy.mjs')).message).toMatch(/wrote to stderr .*:\nWarning: something deprecated/);
  }, LONG);
});
