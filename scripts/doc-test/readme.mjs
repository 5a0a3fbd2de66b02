// README code blocks the doc-test runs, and how their printed output is checked.
//
// A block runs when its fence's info string has the word `runnable` and names the file to save it as (and,
// with `uses=a,b`, files of its package, e.g. a test photo, copied beside it under their own names):
//
//   ```js runnable file=example.mjs
//   console.log(1 + 1); // -> 2
//   ```
//
// It is saved verbatim as that file in a fresh npm project where the packed packages are installed, and run
// with `node <file>`. Each `// -> text` comment is an expected piece of stdout: the comments must match, in
// order, with whitespace runs compared as one space (util.inspect wraps long objects) and `...` standing for
// any text. The block fails when node exits non-zero, when an expectation is not found, or when anything is
// written to stderr (libraries must not print; warnings included).

/** The runnable blocks of a README: [{ file, lang, code, line, expected: [{ text, line }], uses: [package-relative paths] }]. */
export function runnableBlocks(markdown) {
  const blocks = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(\S*)\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, , fence, lang, rest] = open;
    let j = i + 1;
    while (j < lines.length && !lines[j].trimStart().startsWith(fence)) j++;
    const words = rest.split(/\s+/).filter(Boolean);
    if (words.includes('runnable')) {
      const file = words.find((w) => w.startsWith('file='))?.slice(5);
      if (!file || !/^[\w.-]+\.(mjs|js|cjs)$/.test(file)) {
        throw new Error(`README line ${i + 1}: a runnable block needs file=<name>.mjs (or .js/.cjs) in its info string; got "${lines[i].trim()}"`);
      }
      const body = lines.slice(i + 1, j);
      const expected = [];
      body.forEach((l, k) => {
        const m = /\/\/\s*->\s?(.*)$/.exec(l);
        if (m) expected.push({ text: m[1].trim(), line: i + 2 + k });
      });
      const uses = words.find((w) => w.startsWith('uses='))?.slice(5).split(',').filter(Boolean) ?? [];
      const bad = uses.find((u) => u.startsWith('/') || u.split('/').includes('..'));
      if (bad) throw new Error(`README line ${i + 1}: uses=${bad} must be a path inside the package (no leading / or ..)`);
      blocks.push({ file, lang, code: `${body.join('\n')}\n`, line: i + 1, expected, uses });
    }
    i = j;
  }
  return blocks;
}

/**
 * Checks a run's stdout against a block's expectations. Returns undefined when everything matched, else a
 * message naming the first expectation not found and what came instead.
 */
export function checkOutput(block, stdout) {
  const out = normalize(stdout);
  let pos = 0;
  for (const e of block.expected) {
    const re = new RegExp(normalize(e.text).split('...').map(escapeRegExp).join('[\\s\\S]*?'));
    const m = re.exec(out.slice(pos));
    if (!m) {
      const rest = out.slice(pos);
      return `README line ${e.line}: expected "${e.text}" in the output${pos ? ' after what matched before it' : ''}; got ${rest ? `"${rest.length > 600 ? `${rest.slice(0, 600)} ...` : rest}"` : 'nothing more'}`;
    }
    pos += m.index + m[0].length;
  }
  return undefined;
}

// --- Internal helpers ---

function normalize(s) {
  return s.replace(/\s+/g, ' ').trim();
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
