import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonStateStore, StateLock } from '../../../../src/core/adapters/files/state-store.js';
import type { MarketState } from '../../../../src/core/ports/state-store.js';

const STATE_STORE = join(import.meta.dirname, '../../../../src/core/adapters/files/state-store.ts');

const state: MarketState = {
  version: 1,
  market: 'IX.D.DAX.DAILY.IP',
  positions: [
    {
      dealId: 'DIAAAA1',
      market: 'IX.D.DAX.DAILY.IP',
      strategy: 'scalper',
      direction: 'BUY',
      size: 1,
      originalSize: 1,
      entryPrice: 100,
      entryTime: 1,
      entryReason: 'SIGNAL',
      stopReason: 'STOP',
      initialStop: 90,
      risk: 10,
      best: 112,
      trailingActive: true,
      ladderNext: 1,
      ladderLock: 0,
      virtualLevel: undefined,
    },
  ],
};

/** Runs a lock stress script (it prints its counts as JSON) in a process of its own. */
function lockScript(script: string): Promise<{ held: number; refused: number; both: number; errors: string[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.once('exit', () => resolve(JSON.parse(out)));
  });
}

describe('JSON state store (SPEC §6.3)', () => {
  it('writes atomically with mode 0600, reads back, deletes the file when no position is left', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-state-'));
    const store = new JsonStateStore(dir);
    store.writeMarket(state);
    const file = join(dir, 'IX.D.DAX.DAILY.IP.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(
      readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      'no temporary file left behind',
    ).toEqual([]);
    expect(store.readMarket(state.market)?.positions[0]?.best).toBe(112);
    expect(store.listMarkets()).toEqual(['IX.D.DAX.DAILY.IP']);
    store.writeMarket({ ...state, positions: [] });
    expect(existsSync(file)).toBe(false);
  });

  it('a corrupt state file is a clear error naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-state-'));
    writeFileSync(join(dir, 'X.json'), '{"version": 1, "market": "X", "positions": [{"dealId": 3}]}');
    expect(() => new JsonStateStore(dir).readMarket('X')).toThrow(/X\.json/);
  });

  it('a second process on the same state directory is refused; a stale lock is taken over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-lock-'));
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
    try {
      writeFileSync(join(dir, '.lock'), `${child.pid}\n`);
      expect(() => new StateLock(dir).acquire()).toThrow(/in use by process/);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    const lock = new StateLock(dir);
    lock.acquire(); // the holder is dead now
    expect(readFileSync(join(dir, '.lock'), 'utf8').trim()).toBe(String(process.pid));
    lock.release();
    expect(existsSync(join(dir, '.lock'))).toBe(false);
  });

  it('two processes taking and releasing the lock as fast as they can: never both hold it, never a raw error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-lock-race-'));
    // Each holds the lock while it makes and removes a marker file exclusively: a second holder
    // at the same moment finds the marker there.
    const script = `import { closeSync, openSync, rmSync } from 'node:fs';
import { StateInUse, StateLock } from ${JSON.stringify(STATE_STORE)};
const lock = new StateLock(${JSON.stringify(dir)});
const counts = { held: 0, refused: 0, both: 0, errors: [] };
for (let i = 0; i < 4000; i++) {
  try { lock.acquire(); } catch (e) {
    if (e instanceof StateInUse) counts.refused++; else counts.errors.push(String(e));
    continue;
  }
  counts.held++;
  try { closeSync(openSync(${JSON.stringify(join(dir, 'marker'))}, 'wx')); rmSync(${JSON.stringify(join(dir, 'marker'))}); } catch { counts.both++; }
  lock.release();
}
console.log(JSON.stringify(counts));`;
    const [a, b] = await Promise.all([lockScript(script), lockScript(script)]);
    expect(a.errors.slice(0, 3)).toEqual([]);
    expect(b.errors.slice(0, 3)).toEqual([]);
    expect(a.both + b.both, 'two holders at once').toBe(0);
    expect(a.held, 'each took the lock').toBeGreaterThan(0);
    expect(b.held).toBeGreaterThan(0);
  }, 60_000);

  it('two processes that find the same stale lock (its process gone): only one takes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-lock-stale-'));
    const lockPath = join(dir, '.lock');
    const marker = join(dir, 'marker');
    // Half of the time a holder "crashes": it leaves the lock behind with a pid no process has,
    // and both processes then find it stale at once.
    const script = `import { closeSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { StateInUse, StateLock } from ${JSON.stringify(STATE_STORE)};
const counts = { held: 0, refused: 0, both: 0, errors: [] };
for (let i = 0; i < 3000; i++) {
  const lock = new StateLock(${JSON.stringify(dir)});
  try { lock.acquire(); } catch (e) {
    if (e instanceof StateInUse) counts.refused++; else counts.errors.push(String(e));
    continue;
  }
  counts.held++;
  try {
    closeSync(openSync(${JSON.stringify(marker)}, 'wx'));
    readdirSync(${JSON.stringify(dir)});
    rmSync(${JSON.stringify(marker)});
  } catch { counts.both++; }
  if (i % 2 === 0) writeFileSync(${JSON.stringify(lockPath)}, '2147483646\\n');
  else lock.release();
}
console.log(JSON.stringify(counts));`;
    const [a, b] = await Promise.all([lockScript(script), lockScript(script)]);
    expect(a.errors.slice(0, 3)).toEqual([]);
    expect(b.errors.slice(0, 3)).toEqual([]);
    expect(a.both + b.both, 'two holders at once').toBe(0);
    expect(a.held).toBeGreaterThan(0);
    expect(b.held).toBeGreaterThan(0);
  }, 60_000);

  it('a lock that cannot be written (a full disk) is a WriteFailed naming it, and leaves no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-lock-full-'));
    const script = `import { StateLock } from ${JSON.stringify(STATE_STORE)};
try { new StateLock(${JSON.stringify(dir)}).acquire(); } catch (error) { console.log(error.name, error.code, error.message); }`;
    const child = spawn(
      'bash',
      ['-c', 'ulimit -f 0 && exec "$@"', 'bash', process.execPath, '--import', 'tsx', '-e', script],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    await new Promise((r) => child.once('exit', r));
    expect(out.trim()).toMatch(
      new RegExp(`^WriteFailed EFBIG cannot write the lock file ${join(dir, '.lock')}: EFBIG`),
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a write that fails part-way (a full disk) keeps the old file whole and leaves no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-state-full-'));
    const file = join(dir, 'IX.D.DAX.DAILY.IP.json');
    writeFileSync(file, '{"old": true}\n');
    // A process that may write files of 1 KB at most (`ulimit -f`): the 2 KB write fails with EFBIG.
    const script = `import { writeFileAtomic } from ${JSON.stringify(STATE_STORE)};
try { writeFileAtomic(${JSON.stringify(file)}, 'x'.repeat(2048)); } catch (error) { console.log(error.code); }`;
    const child = spawn(
      'bash',
      ['-c', 'ulimit -f 1 && exec "$@"', 'bash', process.execPath, '--import', 'tsx', '-e', script],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    await new Promise((r) => child.once('exit', r));
    expect(out.trim()).toBe('EFBIG');
    expect(readFileSync(file, 'utf8')).toBe('{"old": true}\n');
    expect(readdirSync(dir)).toEqual(['IX.D.DAX.DAILY.IP.json']);
  });
});
