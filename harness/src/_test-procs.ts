// For tests only (imported by *.test.ts, never by the harness): child processes with their output kept and
// event-driven waits on it, a free loopback port, and a throwaway redis-server (Debian's, on a free port, no
// persistence) for the distributed-queue tests.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MIN = 60_000;

/** The harness folder (the `fer` processes' working directory) and its CLI entry in the sources. */
export const HARNESS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI_SOURCE = join(HARNESS_DIR, 'src', 'cli.ts');

/** Whether Debian's redis-server is installed (the queue tests skip, loudly, without it; .ci/run installs it). */
export const hasRedisServer = (): boolean => spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

/** A child process whose output is kept, with event-driven waits on it. */
export class Proc {
  out = '';
  readonly exited: Promise<number | null>;
  private listeners = new Set<() => void>();
  constructor(readonly name: string, readonly child: ChildProcess) {
    const keep = (b: Buffer) => {
      this.out += b.toString();
      for (const l of this.listeners) l();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((res) => child.on('exit', (code) => {
      for (const l of this.listeners) l();
      res(code);
    }));
  }
  /** Starts `cmd` with its stdout and stderr kept. */
  static spawn(name: string, cmd: string, args: string[], o: Omit<SpawnOptions, 'stdio'> = {}): Proc {
    return new Proc(name, spawn(cmd, args, { ...o, stdio: ['ignore', 'pipe', 'pipe'] }));
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  /** Resolves with the match once the output matches `re`; rejects if the process exits first or after `ms`. */
  waitFor(re: RegExp, ms = 5 * MIN): Promise<RegExpMatchArray> {
    return new Promise((res, rej) => {
      const check = () => {
        const m = this.out.match(re);
        if (m) {
          done();
          res(m);
        } else if (!this.running) {
          done();
          rej(new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${re}:\n${this.out.slice(-3000)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        rej(new Error(`${this.name}: no ${re} within ${ms / 1000}s:\n${this.out.slice(-3000)}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }
  kill(sig: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.child.kill(sig);
  }
  /** Kills (if running) and waits for the exit. */
  async stop(sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.kill(sig);
    await this.exited;
  }
}

/** A TCP port free on 127.0.0.1 at the time of the call. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** A redis-server on a free loopback port, without persistence, ready to accept connections. */
export async function startRedis(o: { password?: string; port?: number } = {}): Promise<{ proc: Proc; port: number; url: string }> {
  const port = o.port ?? (await freePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(o.password ? ['--requirepass', o.password] : [])];
  const proc = Proc.spawn('redis-server', 'redis-server', args);
  await proc.waitFor(/Ready to accept connections/, MIN);
  return { proc, port, url: `redis://127.0.0.1:${port}` };
}

/**
 * A `fer` process from the sources (tsx), in the harness folder, with WebGPU off and FER2013_PATH unset (synthetic
 * data unless `--data` says otherwise: the queue tests do not care which data); `env` adds to or overrides that.
 */
export function ferProcess(name: string, args: string[], env: Record<string, string> = {}): Proc {
  return Proc.spawn(name, process.execPath, ['--conditions=@fer/source', '--import', 'tsx', CLI_SOURCE, ...args], {
    cwd: HARNESS_DIR,
    env: { ...process.env, FER_ENGINE_WEBGPU: '0', FER2013_PATH: '', ...env },
  });
}
