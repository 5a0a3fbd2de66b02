// Fencing of a queued job's folder: every attempt claims the folder with a fresh token (`attempt.json`) and
// checks, before each write there, that the token is still its own. When a job's queue lock expires while
// its attempt still runs (Redis paused, a stalled event loop) and another worker takes the job, the new
// attempt's claim makes the old one stop at its next write instead of writing over the new one.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FerCliError } from '../errors.js';
import { writeFileAtomicSync } from '../job/files.js';

export { writeFileAtomicSync };

/** The claim file in a job folder. */
export const ATTEMPT_FILE = 'attempt.json';

/** What {@link ATTEMPT_FILE} holds. */
export interface AttemptClaim {
  token: string;
  worker: string;
  attempt: number;
  pid: number;
  at: string;
}

/** Claims job folder `dir` for a new attempt; returns the attempt's token (older attempts are fenced off). */
export function claimJobFolder(dir: string, who: { worker: string; attempt: number }): string {
  const token = randomBytes(12).toString('hex');
  const claim: AttemptClaim = { token, worker: who.worker, attempt: who.attempt, pid: process.pid, at: new Date().toISOString() };
  writeFileAtomicSync(join(dir, ATTEMPT_FILE), `${JSON.stringify(claim)}\n`);
  return token;
}

/** The current claim of `dir`, if any. */
export function readClaim(dir: string): AttemptClaim | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, ATTEMPT_FILE), 'utf8')) as AttemptClaim;
  } catch {
    return undefined;
  }
}

/**
 * Throws FerCliError E_FENCED when `dir` is no longer claimed by `token` (a newer attempt took the job over).
 * Call it before every write in the job folder.
 */
export function checkFence(dir: string, token: string): void {
  const claim = readClaim(dir);
  if (claim?.token === token) return;
  const by = claim ? `attempt ${claim.attempt} on worker ${claim.worker} (since ${claim.at})` : 'nobody (the claim file is gone)';
  throw new FerCliError('E_FENCED', `[fer queue] job folder ${dir} is now claimed by ${by}, not by this attempt: its queue lock expired and the job was taken over. This attempt stops without writing there; the newer attempt carries the job on.`);
}
