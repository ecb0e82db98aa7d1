import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError, WriteFailed } from '../../domain/errors.js';
import { EXIT_REASONS, STOP_REASONS } from '../../domain/types.js';
import type { MarketState, StateStore, StrategiesState } from '../../ports/state-store.js';

const STRATEGIES_FILE = '_strategies.json';
const LOCK_FILE = '.lock';

const num = z.number().finite();
const snapshotSchema = z.object({
  dealId: z.string(),
  market: z.string(),
  strategy: z.string(),
  direction: z.enum(['BUY', 'SELL']),
  size: num,
  originalSize: num,
  entryPrice: num,
  entryTime: num,
  entryReason: z.enum(['SIGNAL', 'EMA_CROSS', 'BREAKOUT', 'MODULE', 'ADOPTED']),
  stopReason: z.enum(STOP_REASONS),
  initialStop: num.optional(),
  risk: num,
  best: num,
  trailingActive: z.boolean(),
  ladderNext: z.number().int().nonnegative(),
  ladderLock: num.optional(),
  virtualLevel: num.optional(),
  closesSent: z.array(z.object({ size: num.positive(), reason: z.enum(EXIT_REASONS) })).optional(),
  amendsSent: z.array(z.object({ level: num, reason: z.enum(STOP_REASONS) })).optional(),
});
const marketSchema = z.object({ version: z.literal(1), market: z.string(), positions: z.array(snapshotSchema) });
const strategiesSchema = z.object({
  version: z.literal(1),
  guards: z.record(
    z.string(),
    z.object({ realised: num, peak: num, stopped: z.enum(['STRATEGY_DRAWDOWN', 'STRATEGY_TRAIL']).optional() }),
  ),
  entriesSeenUntil: z.record(z.string(), num).optional(),
  journalRows: z.number().int().nonnegative().optional(),
  savedAt: num.optional(),
});

/**
 * File name of a market: epics contain dots, never slashes; anything odd is escaped, and so is a
 * leading `_`, which marks trailguard's own files (`_strategies.json`, the paper broker's
 * `_paper.json`): they are never read as a market's.
 */
function fileOf(market: string): string {
  return `${market.replace(/[^A-Za-z0-9._-]|^_/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}.json`;
}
function marketOf(file: string): string {
  return decodeURIComponent(file.slice(0, -'.json'.length));
}

const TAG_FILE = '.tag';
const dirTags = new Map<string, string>();

/**
 * Four characters that tell this state directory from any other trailguard's (made at random the
 * first time, kept in `.tag`): its opens carry it in their deal reference, so that a restart takes
 * over only its own, on an IG account several trailguards share.
 */
export function stateDirTag(dir: string): string {
  const known = dirTags.get(dir);
  if (known !== undefined) return known;
  makeStateDir(dir);
  const path = join(dir, TAG_FILE);
  let tag: string;
  try {
    tag = randomBytes(3).toString('base64url'); // 4 characters of IG's deal-reference alphabet
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, `${tag}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    tag = readFileSync(path, 'utf8').trim();
    if (!/^[A-Za-z0-9_-]{4}$/.test(tag))
      throw new UserError(`${path} is damaged (not 4 characters of A–Z a–z 0–9 _ -)`, 'remove it: a new tag is made');
  }
  dirTags.set(dir, tag);
  return tag;
}

/** The state directory, made if missing; a file in its place is the configuration's mistake. */
function makeStateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR')
      throw new UserError(`state directory ${dir} is not a directory`, 'check stateDir in the configuration');
    throw new UserError(
      `cannot make the state directory ${dir}: ${(error as Error).message}`,
      'check stateDir in the configuration',
    );
  }
}

/** temp file, fsync, rename, fsync the directory: a crash leaves the old file or the new one, never half of one. */
export function writeFileAtomic(path: string, text: string, mode = 0o600): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    const bytes = Buffer.from(text, 'utf8');
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } catch (error) {
    // A full disk: the old file stays whole, and no half-written temporary is left beside it.
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(tmp, path);
  const dir = openSync(join(path, '..'), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** JSON state files, one per market, mode 0600 (SPEC §6.3). JSON without `undefined` keys. */
export class JsonStateStore implements StateStore {
  constructor(readonly dir: string) {
    makeStateDir(dir);
  }

  readMarket(market: string): MarketState | undefined {
    return this.read(
      join(this.dir, fileOf(market)),
      marketSchema,
      `inspect it, or remove it with \`trailguard state clear ${market} --force\` once IG shows the position is handled`,
    ) as MarketState | undefined;
  }

  writeMarket(state: MarketState): void {
    const path = join(this.dir, fileOf(state.market));
    if (state.positions.length === 0) {
      rmSync(path, { force: true });
      return;
    }
    writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`);
  }

  listMarkets(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json') && !f.startsWith('_'))
      .map(marketOf)
      .sort();
  }

  deleteMarket(market: string): void {
    rmSync(join(this.dir, fileOf(market)), { force: true });
  }

  readStrategies(): StrategiesState | undefined {
    return this.read(
      join(this.dir, STRATEGIES_FILE),
      strategiesSchema,
      'inspect it, or reset every strategy guard with `trailguard state clear --force`',
    ) as StrategiesState | undefined;
  }

  writeStrategies(state: StrategiesState): void {
    writeFileAtomic(join(this.dir, STRATEGIES_FILE), `${JSON.stringify(state, null, 2)}\n`);
  }

  private read(path: string, schema: z.ZodType, hint: string): unknown {
    if (!existsSync(path)) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new UserError(`state file ${path} is not valid JSON: ${(error as Error).message}`, hint);
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UserError(`state file ${path}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`, hint);
    }
    return parsed.data;
  }
}

/** The state directory's lock is held by a running process (`live`, or another command). */
export class StateInUse extends UserError {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `state directory ${dir} is in use by process ${pid}`,
      'stop the other trailguard first (only one process may manage a state directory)',
    );
  }
}

/**
 * One process per state directory (SPEC §6.3): a lock file holding the pid. A lock left by a
 * process that no longer exists (a crash, SIGKILL) is taken over.
 */
export class StateLock {
  private held = false;
  readonly path: string;

  constructor(dir: string) {
    makeStateDir(dir);
    this.path = join(dir, LOCK_FILE);
  }

  /**
   * Takes the lock, or throws StateInUse naming the live process that holds it. The lock file is
   * made whole before it appears (a hard link to a file already holding the pid): created empty
   * and written after, a second process could read it empty in between, take it for a stale lock
   * and remove it from under its holder. A lock removed while it is read (its holder released it)
   * is tried again.
   */
  acquire(): void {
    // Another process taking and releasing it between our tries: at most this many rounds.
    for (let attempt = 0; attempt < 100; attempt++) {
      if (this.create()) {
        this.held = true;
        return;
      }
      let text: string;
      try {
        text = readFileSync(this.path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
        throw error;
      }
      const pid = Number(text.trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid))
        throw new StateInUse(join(this.path, '..'), pid);
      this.removeStale(text);
    }
    throw new UserError(`could not take the lock ${this.path}`);
  }

  /**
   * Removes a stale lock (its process is gone) that read `text`. Another process may have found
   * the same stale lock, removed it and taken the lock since: removing the file by name would
   * then remove that holder's lock. So it is first moved aside (only one process can move a given
   * file: the others find it gone and try again) and what was moved is checked: a live holder's
   * lock that had replaced the stale one is put back.
   */
  private removeStale(text: string): void {
    const aside = `${this.path}.${process.pid}.stale`;
    try {
      renameSync(this.path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // removed by another: try again
      throw error;
    }
    try {
      if (readFileSync(aside, 'utf8') !== text) linkSync(aside, this.path);
    } catch (error) {
      // EEXIST: a third process took the lock in that moment; the one put back would be a second.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      rmSync(aside, { force: true });
    }
  }

  /** Creates the lock file holding this process's pid; false when one exists. */
  private create(): boolean {
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, `${process.pid}\n`, { mode: 0o600 });
    } catch (error) {
      rmSync(tmp, { force: true }); // a full disk: nothing of it left behind
      throw new WriteFailed(
        `cannot write the lock file ${this.path}: ${(error as Error).message}`,
        (error as NodeJS.ErrnoException).code ?? 'WRITE_FAILED',
      );
    }
    try {
      linkSync(tmp, this.path);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
      // A file system without hard links: created exclusively, then written.
      try {
        const fd = openSync(this.path, 'wx', 0o600);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return true;
      } catch (inner) {
        if ((inner as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw inner;
      }
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  release(): void {
    if (!this.held) return;
    rmSync(this.path, { force: true });
    this.held = false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
