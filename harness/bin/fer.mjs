#!/usr/bin/env node
// The `fer` command: runs the harness CLI from its TypeScript sources (the harness is private and unbuilt).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const r = spawnSync(process.execPath, ['--conditions=@fer/source', '--import', 'tsx', cli, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
