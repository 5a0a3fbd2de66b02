// The Redis side of `--queue redis://HOST:PORT`: URL parsing, a bounded reachability check (ioredis
// retries forever by default, so a missing Redis would hang), and the connection options BullMQ gets.
import { Redis, type RedisOptions } from 'ioredis';
import type { FerCliErrorCode } from '../errors.js';

/** The BullMQ queue every `pnpm reproduce --queue` / `fer sweep --queue` / `fer worker` shares. */
export const QUEUE_NAME = 'fer-jobs';

/** Defaults of the queue settings (one place; the commands read them). */
export const QUEUE_DEFAULTS = {
  /** Attempts of a job that throws (a bad config, NaN) before it ends as failed. */
  attempts: 3,
  /** First retry delay (ms); doubles each attempt. */
  backoffMs: 2000,
  /**
   * Lock duration = stalled-check interval (ms): a worker that dies (kill -9, machine lost) leaves its
   * job locked this long, then another worker takes it and resumes it from its last checkpoint.
   */
  stallMs: 30_000,
  /** Times a job may be recovered from a dead worker before it ends as failed. */
  maxStalls: 5,
  /** How long `--queue` waits for Redis to answer before E_QUEUE_UNREACHABLE. */
  connectMs: 5000,
  /** Reconnect attempts after a lost connection (~1 min in all) before giving up. */
  reconnects: 20,
} as const;

/** Errors of the queue commands: `code` + what was got, what was expected and how to fix it. */
export class QueueError extends Error {
  readonly code: FerCliErrorCode;
  constructor(code: FerCliErrorCode, message: string, options?: { cause?: unknown }) {
    super(`[fer queue] ${message}`, options);
    this.name = 'QueueError';
    this.code = code;
  }
}

/**
 * The URL with its password hidden, for every message, log line and command printed. Works on text that does
 * not parse as a URL too: everything between `//` and the LAST `@` is the user info (a password may hold `@`,
 * `/` or `:`); the user name before the first `:` stays, the rest becomes `***` (no `:`: all of it).
 * @example
 * redactUrl('redis://u:p@ss/w@h:1/0') // 'redis://u:***@h:1/0'
 */
export function redactUrl(url: string): string {
  const m = /^([^/]*\/\/)?(.*)@([^@]*)$/s.exec(url);
  if (!m) return url;
  const [, scheme = '', info, rest] = m;
  const colon = info.indexOf(':');
  return `${scheme}${colon >= 0 ? `${info.slice(0, colon)}:***` : '***'}@${rest}`;
}

/**
 * `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS) as ioredis options.
 * @example
 * parseQueueUrl('redis://10.0.0.5:6380/2') // { host: '10.0.0.5', port: 6380, db: 2 }
 */
export function parseQueueUrl(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueError('E_BAD_QUEUE_URL', `--queue ${JSON.stringify(redactUrl(url))} is not a URL; expected redis://HOST:PORT (e.g. redis://127.0.0.1:6379; a password with reserved characters such as @ / : # must be percent-encoded, e.g. redis://:p%40ss@HOST:6379).`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new QueueError('E_BAD_QUEUE_URL', `--queue ${redactUrl(url)}: scheme "${u.protocol}", expected redis:// or rediss:// (TLS), e.g. redis://127.0.0.1:6379.`);
  }
  if (!u.hostname) throw new QueueError('E_BAD_QUEUE_URL', `--queue ${redactUrl(url)} names no host; expected redis://HOST:PORT.`);
  // NOTE: an "@" after the host means a password holding a raw "/" (or "?", "#"): the URL parser ended the user info
  // there, so what it calls the path (and would quote as the database) holds the rest of the password.
  if (`${u.pathname}${u.search}${u.hash}`.includes('@')) {
    throw new QueueError('E_BAD_QUEUE_URL', `--queue ${redactUrl(url)}: an "@" after the host's first "/" (or "?", "#"), so the user info cannot be told from the host; expected redis://[USER]:PASSWORD@HOST:PORT with the password's reserved characters percent-encoded (@ / : # ? as %40 %2F %3A %23 %3F), e.g. redis://:p%40ss%2Fw@HOST:6379.`);
  }
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new QueueError('E_BAD_QUEUE_URL', `--queue ${redactUrl(url)}: database "${u.pathname.slice(1)}" is not a number; expected redis://HOST:PORT/<db number>.`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * Connects once with a bounded timeout and no retries: E_QUEUE_UNREACHABLE naming the URL within
 * `timeoutMs` instead of ioredis' endless reconnecting. Also checks that Redis is 5+ (BullMQ's need).
 */
export async function checkRedis(url: string, timeoutMs: number = QUEUE_DEFAULTS.connectMs): Promise<{ version: string }> {
  const client = new Redis({ ...parseQueueUrl(url), lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  let lastError: Error | undefined;
  client.on('error', (e: Error) => { lastError = e; });
  try {
    const timer = new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref());
    await Promise.race([client.connect().then(() => client.ping()), timer]);
    const info = await client.info('server');
    const version = /redis_version:([\d.]+)/.exec(info)?.[1] ?? '?';
    if (Number(version.split('.')[0]) < 5) throw new QueueError('E_QUEUE_UNREACHABLE', `Redis at ${redactUrl(url)} is version ${version}; BullMQ needs Redis 5 or newer.`);
    return { version };
  } catch (e) {
    if (e instanceof QueueError) throw e;
    const why = redactUrl((lastError ?? (e as Error)).message || String(e));
    if (/\b(WRONGPASS|NOAUTH)\b|invalid password|invalid username-password/i.test(why)) {
      const given = /^rediss?:\/\/[^/]*@/.test(url);
      throw new QueueError('E_QUEUE_AUTH', `Redis at ${redactUrl(url)} is running but refused ${given ? 'the user name or password in --queue' : 'to work without a password'} (${why}). Expected the password Redis is configured with (requirepass / ACL): give it as redis://[USER]:PASSWORD@HOST:PORT (percent-encode @ / : #).`, { cause: e });
    }
    throw new QueueError('E_QUEUE_UNREACHABLE', `cannot reach Redis at ${redactUrl(url)} (${why}). Expected a running Redis 5+ there: start one (e.g. \`redis-server --port 6379\`, or the docker-compose in docs/distributed.md) or fix --queue.`, { cause: e });
  } finally {
    client.disconnect();
  }
}

/**
 * A connection for BullMQ that gives up after a bounded number of reconnects (about a minute), so a
 * lost Redis ends the command with an error instead of a hang. `blocking` connections (workers,
 * event listeners) need `maxRetriesPerRequest: null` (BullMQ's rule).
 */
export function createConnection(url: string, opts: { blocking: boolean; onEnd?: () => void }): Redis {
  const conn = new Redis({
    ...parseQueueUrl(url),
    connectTimeout: QUEUE_DEFAULTS.connectMs,
    maxRetriesPerRequest: opts.blocking ? null : 3,
    retryStrategy: (times) => (times > QUEUE_DEFAULTS.reconnects ? null : Math.min(times * 500, 3000)),
  });
  // NOTE: errors are reported through 'end' (the retries are used up) and through the failing calls.
  conn.on('error', () => undefined);
  if (opts.onEnd) conn.on('end', opts.onEnd);
  return conn;
}

/**
 * Closes a BullMQ object (Queue, QueueEvents) and then the connection it shares. BullMQ's connection wrapper drops
 * all its listeners on close; if its start-up (ready wait, then an INFO version check) is still in flight, our
 * disconnect fails that start-up with "Connection is closed", which the wrapper re-emits as an 'error' event with
 * no listener left: an unhandled error that ended `pnpm reproduce` when it had nothing left to do (every result
 * on disk). So wait (bounded) for the start-up to settle, close, and keep a listener on the wrapper afterwards.
 */
export async function closeQueueObject(q: { waitUntilReady(): Promise<unknown>; close(): Promise<void> }, conn: { disconnect(): void } | undefined, waitMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    q.waitUntilReady().catch(() => undefined),
    new Promise<void>((res) => { timer = setTimeout(res, waitMs); timer.unref(); }),
  ]);
  clearTimeout(timer);
  await q.close().catch(() => undefined);
  // `connection` is BullMQ's (protected) wrapper; after close it has no listeners, so a late start-up failure would
  // be thrown as an unhandled 'error'. A listener that ignores it is right here: the object is closed on purpose.
  (q as unknown as { connection?: { on?(ev: 'error', f: () => void): unknown } }).connection?.on?.('error', () => undefined);
  conn?.disconnect();
}
