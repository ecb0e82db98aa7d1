import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeIg, type FakeIg } from '../support/fake-ig/index.js';
import { credentialsEnv, DAX, fakeIgFor, liveConfig } from '../support/live-harness.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/run.js');

let fake: FakeIg | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** Runs the built CLI without blocking this process (the fake IG lives here). */
function cli(f: FakeIg, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...credentialsEnv(f) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

describe('positions, sync, close, state (built CLI against the fake IG)', () => {
  it('adopts a platform position, shows it, refuses to clear it while held, closes it in two steps with MANUAL rows', async () => {
    fake = await fakeIgFor({ time: Date.now(), bid: 100, ask: 101 });
    const f = fake;
    const { configPath, journal } = liveConfig(
      f,
      `pointSize: 1\ndecimals: 1\nlotStep: 0.1\nexits:\n  trailing: { activateAt: 10, distance: 5 }`,
    );
    const dealId = f.openExternally({ epic: DAX, direction: 'BUY', size: 2, stopLevel: 80 });

    const sync = await cli(f, ['sync', '--config', configPath, '--json']);
    expect(sync.code, sync.stderr).toBe(0);
    expect(JSON.parse(sync.stdout).report.adopted).toEqual([{ dealId, market: DAX }]);

    f.pushTick({ epic: DAX, bid: 110, ask: 111, time: Date.now() });
    const positions = await cli(f, ['positions', '--config', configPath, '--json']);
    expect(positions.code, positions.stderr).toBe(0);
    expect(JSON.parse(positions.stdout).positions).toMatchObject([
      {
        dealId,
        market: DAX,
        direction: 'BUY',
        size: 2,
        entryPrice: 101,
        price: 110,
        stopLevel: 80,
        pnlPoints: 9,
        pnlAmount: 18,
        managed: 'managed',
      },
    ]);

    const show = await cli(f, ['state', 'show', '--config', configPath, '--json']);
    expect(JSON.parse(show.stdout).markets[0].positions[0]).toMatchObject({ dealId, entryReason: 'ADOPTED', risk: 21 });

    const clear = await cli(f, ['state', 'clear', DAX, '--config', configPath]);
    expect(clear.code, 'IG still holds it').toBe(2);
    expect(clear.stderr).toContain('--force');

    const noTerminal = await cli(f, ['close', dealId, '--config', configPath]);
    expect(noTerminal.code, 'no terminal and no --yes: refused').toBe(2);
    expect(f.positions()).toHaveLength(1);

    const half = await cli(f, ['close', dealId, '--percent', '50', '--yes', '--config', configPath, '--json']);
    expect(half.code, half.stderr).toBe(0);
    expect(JSON.parse(half.stdout).closed).toMatchObject([
      { action: 'PARTIAL', size: 1, price: 110, reason: 'MANUAL' },
    ]);
    expect(f.positions()[0]?.size).toBe(1);

    const rest = await cli(f, ['close', '--all', '--yes', '--config', configPath, '--json']);
    expect(rest.code, rest.stderr).toBe(0);
    expect(f.positions()).toEqual([]);
    const rows = readFileSync(journal, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((r) => r.split(',').slice(5, 13).join(','));
    expect(rows).toEqual([
      'ENTRY,2,101,80,,,,ADOPTED',
      'PARTIAL,1,110,80,9,9,0.42857143,MANUAL',
      'EXIT,1,110,80,9,9,0.42857143,MANUAL',
    ]);

    // Flat already: --all (an end-of-day cron job) has nothing to do, which is no error.
    const flat = await cli(f, ['close', '--all', '--yes', '--config', configPath, '--json']);
    expect(flat.code, flat.stderr).toBe(0);
    expect(JSON.parse(flat.stdout)).toEqual({ closed: [], failed: [], targets: [] });
    const flatText = await cli(f, ['close', '--all', '--yes', '--config', configPath]);
    expect(flatText.stdout).toContain('no open position managed by trailguard: nothing to close');
    const unknown = await cli(f, ['close', dealId, '--yes', '--config', configPath, '--json']);
    expect(unknown.code, 'a deal id that matches nothing is bad input').toBe(2);

    const cleared = await cli(f, ['state', 'clear', '--config', configPath, '--json']);
    expect(cleared.code, cleared.stderr).toBe(0);
  }, 60_000);

  it('a saved position IG closed while nothing ran: state clear refuses until sync has written its close; one of a market removed from the configuration is reported by sync (exit 1), not passed over', async () => {
    const FX = 'CS.D.EURUSD.MINI.IP';
    fake = await startFakeIg({
      markets: [
        { epic: DAX, bid: 100, ask: 101, minStopDistance: 0, decimals: 1 },
        { epic: FX, bid: 1.1, ask: 1.1001, minStopDistance: 0, decimals: 5 },
      ],
    });
    const f = fake;
    const { configPath, journal } = liveConfig(f, `pointSize: 1\ndecimals: 1\nlotStep: 0.1`);
    const withFx = `${readFileSync(configPath, 'utf8')}  ${FX}: { pointSize: 0.0001, decimals: 5 }\n`;
    writeFileSync(configPath, withFx);
    const dax = f.openExternally({ epic: DAX, direction: 'BUY', size: 1, stopLevel: 80 });
    const fx = f.openExternally({ epic: FX, direction: 'SELL', size: 1, stopLevel: 1.2 });
    expect((await cli(f, ['sync', '--config', configPath])).code).toBe(0);

    f.closeExternally(dax, 95);
    const refused = await cli(f, ['state', 'clear', DAX, '--config', configPath]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.replace(/\s*›\s*/g, ' ')).toContain(
      `IG no longer holds ${DAX} ${dax}, and the journal has no EXIT row for it yet`,
    );
    const sync = await cli(f, ['sync', '--config', configPath, '--json']);
    expect(sync.code, sync.stderr).toBe(0);
    expect(readFileSync(journal, 'utf8')).toMatch(new RegExp(`,${dax},default,BUY,EXIT,1,95,`));
    const cleared = await cli(f, ['state', 'clear', DAX, '--config', configPath]);
    expect(cleared.code, cleared.stderr).toBe(0);

    // The trader stops trading EURUSD (its market leaves the configuration), and IG closes it.
    writeFileSync(configPath, withFx.replace(`  ${FX}: { pointSize: 0.0001, decimals: 5 }\n`, ''));
    f.closeExternally(fx, 1.09);
    const after = await cli(f, ['sync', '--config', configPath, '--json']);
    expect(after.code, after.stderr).toBe(1);
    expect(JSON.parse(after.stdout)).toMatchObject({
      inSync: false,
      report: {
        unresolved: [{ dealId: fx, market: FX, reason: expect.stringContaining('no longer in the configuration') }],
      },
    });
    const positions = await cli(f, ['positions', '--config', configPath]);
    expect(positions.stdout).toContain(`saved but not on IG: ${FX} ${fx} (its market is no longer configured`);
    // sync cannot record it, so state clear does not send the trader back to sync: it clears, and warns.
    const clearFx = await cli(f, ['state', 'clear', FX, '--config', configPath]);
    expect(clearFx.code, clearFx.stderr).toBe(0);
    expect(clearFx.stderr).toContain(`${FX} ${fx}: IG no longer holds it and its close is not in the journal`);
    expect((await cli(f, ['sync', '--config', configPath])).code).toBe(0);
  }, 60_000);

  it('close --percent 100 closes all of a size that is no whole number of lots; a close IG refuses says why under --json; --size takes decimal digits only', async () => {
    fake = await fakeIgFor({ time: Date.now(), bid: 100, ask: 101 });
    const f = fake;
    const { configPath } = liveConfig(f, `pointSize: 1\ndecimals: 1\nlotStep: 0.1`);
    const odd = f.openExternally({ epic: DAX, direction: 'BUY', size: 1.05, stopLevel: 80 });
    const other = f.openExternally({ epic: DAX, direction: 'SELL', size: 1, stopLevel: 120 });
    expect((await cli(f, ['sync', '--config', configPath])).code).toBe(0);

    for (const size of ['0x1', '0b1', '1e0']) {
      const r = await cli(f, ['close', other, '--size', size, '--yes', '--config', configPath, '--json']);
      expect(r.code, size).toBe(2);
      expect(JSON.parse(r.stdout).error.message).toBe(`--size ${size}: expected a positive number`);
    }

    const all = await cli(f, ['close', odd, '--percent', '100', '--yes', '--config', configPath, '--json']);
    expect(all.code, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout).closed).toMatchObject([{ dealId: odd, action: 'EXIT', size: 1.05 }]);

    f.failNext(
      { method: 'DELETE', path: /positions\/otc/ },
      { status: 400, body: { errorCode: 'error.service.marketnotopen' } },
    );
    const refused = await cli(f, ['close', other, '--yes', '--config', configPath, '--json']);
    expect(refused.code, refused.stderr).toBe(1);
    expect(JSON.parse(refused.stdout).failed).toEqual([
      { dealId: other, reason: expect.stringMatching(/^IG refused the close: .*error\.service\.marketnotopen/) },
    ]);
    expect(f.positions().map((p) => p.dealId)).toEqual([other]);
  }, 60_000);

  it('close --size: whole lots and at most the position, else exit 2 with nothing sent; no terminal and no --yes: refused before logging in', async () => {
    fake = await fakeIgFor({ time: Date.now(), bid: 100, ask: 101 });
    const f = fake;
    const { configPath } = liveConfig(f, `pointSize: 1\ndecimals: 1\nlotStep: 0.1`);
    const dealId = f.openExternally({ epic: DAX, direction: 'BUY', size: 2, stopLevel: 80 });

    const noTerminal = await cli(f, ['close', dealId, '--config', configPath]);
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toContain('--yes');
    expect(f.requestCount(), 'not even a login').toBe(0);

    for (const size of ['0.15', '1e-9', '2.5']) {
      const r = await cli(f, ['close', dealId, '--size', size, '--yes', '--config', configPath, '--json']);
      expect(r.code, `${size}: ${r.stdout}`).toBe(2);
      expect(JSON.parse(r.stdout).error.message).toContain(`--size ${Number(size)}`);
    }
    expect(f.requestCount('DELETE'), 'no close sent').toBe(0);
    expect(f.positions()[0]?.size).toBe(2);

    const whole = await cli(f, ['close', dealId, '--size', '2', '--yes', '--config', configPath, '--json']);
    expect(whole.code, whole.stderr).toBe(0);
    expect(JSON.parse(whole.stdout).closed).toMatchObject([{ action: 'EXIT', size: 2 }]);
  }, 60_000);

  it('--json prints one document: a close IG refused gives the result (exit 1), a sync not in agreement its report (exit 1)', async () => {
    fake = await fakeIgFor({ time: Date.now(), bid: 100, ask: 101 });
    const f = fake;
    const { configPath } = liveConfig(f, `pointSize: 1\ndecimals: 1\nlotStep: 0.1`);
    const dealId = f.openExternally({ epic: DAX, direction: 'BUY', size: 1, stopLevel: 80 });
    expect((await cli(f, ['sync', '--config', configPath])).code).toBe(0);

    f.failNext({ method: 'DELETE', path: /positions\/otc/ }, { status: 500, times: 5 });
    const close = await cli(f, ['close', dealId, '--yes', '--config', configPath, '--json']);
    expect(close.code, close.stderr).toBe(1);
    const result = JSON.parse(close.stdout); // one document, or this throws
    expect(result).toMatchObject({ closed: [], failed: [{ dealId }], targets: [{ dealId }] });
    expect(result.failed[0].reason, 'IG answered 500: nobody knows whether it closed').toMatch(
      /^the outcome of the close is unknown \(IG may have made it; trailguard positions or sync will tell\): OUTCOME_UNKNOWN/,
    );

    // A market whose entry kind is not none does not adopt: the platform's position is unmanaged.
    const other = liveConfig(
      f,
      `pointSize: 1\ndecimals: 1\nentry: { kind: ema-cross, timeframe: 1m, fast: 3, slow: 5, size: 1 }`,
    );
    const sync = await cli(f, ['sync', '--config', other.configPath, '--json']);
    expect(sync.code, sync.stderr).toBe(1);
    expect(JSON.parse(sync.stdout)).toMatchObject({ inSync: false, report: { unmanaged: [{ dealId }] } });
  }, 60_000);

  it('a state directory held by a running process: sync does nothing and exits 0 (for cron), close refuses (exit 2)', async () => {
    fake = await fakeIgFor({ time: Date.now(), bid: 100, ask: 101 });
    const f = fake;
    const { configPath, stateDir } = liveConfig(f, `pointSize: 1\ndecimals: 1`);
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(join(stateDir, '.lock'), `${process.pid}\n`); // this test runner: alive, as live would be
    const sync = await cli(f, ['sync', '--config', configPath, '--json']);
    expect(sync.code, sync.stderr).toBe(0);
    expect(JSON.parse(sync.stdout).skipped).toContain(`in use by process ${process.pid}`);
    expect(JSON.parse(sync.stdout).inSync, 'not compared, so not said to agree').toBe(false);
    expect(f.requestCount(), 'IG not reached').toBe(0);
    const close = await cli(f, ['close', '--all', '--yes', '--config', configPath]);
    expect(close.code).toBe(2);
    expect(close.stderr).toContain('in use by process');
  }, 60_000);

  it('a configured epic IG does not know is a configuration error (exit 2) naming it', async () => {
    fake = await fakeIgFor({ time: Date.now(), bid: 100, ask: 101 });
    const f = fake;
    const { configPath } = liveConfig(f, `pointSize: 1\ndecimals: 1`, '');
    writeFileSync(configPath, `${readFileSync(configPath, 'utf8')}  XX.D.NOSUCH.IP: { pointSize: 1, decimals: 1 }\n`);
    const r = await cli(f, ['sync', '--config', configPath, '--json']);
    expect(r.code, r.stdout).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toMatch(/^market XX\.D\.NOSUCH\.IP: IG does not know this epic/);
  }, 60_000);

  it('flag and argument errors under --json: exit 2 and a short error document', async () => {
    fake = await fakeIgFor({ time: Date.now(), bid: 100, ask: 101 });
    for (const args of [
      ['close', '--all', '--market', DAX, '--json'],
      ['close', '--all', '--bogus', '--json'],
      ['state', 'show', 'A', 'B', '--json'],
    ]) {
      const r = await cli(fake, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout.length, 'no parse context').toBeLessThan(2000);
      expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'USAGE_ERROR', exitCode: 2 });
    }
  }, 60_000);
});

describe('state show and clear (built CLI, paper broker)', () => {
  function paperDir(): { dir: string; configPath: string; stateDir: string } {
    const dir = mkdtempSync(join(tmpdir(), 'tg-state-'));
    const configPath = join(dir, 'trailguard.yaml');
    writeFileSync(
      configPath,
      `broker: { kind: paper }\nstateDir: ./state\nmarkets:\n  ${DAX}:\n    pointSize: 1\n    decimals: 1\n`,
    );
    const stateDir = join(dir, 'state');
    mkdirSync(stateDir);
    return { dir, configPath, stateDir };
  }
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it("the paper broker's book is not a market's state; a market neither configured nor saved is an input error", () => {
    const { configPath, stateDir } = paperDir();
    writeFileSync(join(stateDir, '_paper.json'), JSON.stringify({ version: 2, positions: [] }));
    const show = run(['state', 'show', '--config', configPath, '--json']);
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout).markets).toEqual([]);

    const typo = run(['state', 'clear', 'IX.D.DAX.DAILY.I', '--config', configPath]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('IX.D.DAX.DAILY.I is not in');
    expect(run(['state', 'show', 'IX.D.DAX.DAILY.I', '--config', configPath]).code).toBe(2);
    expect(run(['state', 'show', DAX, '--config', configPath]).code).toBe(0);
  });

  it('a journal file that is not a trailguard journal is an input error naming it, found before IG is reached', () => {
    const { dir } = paperDir();
    const configPath = join(dir, 'foreign-journal.yaml');
    const journal = join(dir, 'trades.csv');
    const foreign = 'date,symbol,qty,price\n2024-01-01,DAX,1,100\n';
    writeFileSync(journal, foreign);
    writeFileSync(
      configPath,
      `broker: { kind: ig, restUrl: 'http://127.0.0.1:9' }\nstateDir: ./state\njournal: ./trades.csv\nmarkets:\n  ${DAX}: { pointSize: 1, decimals: 1 }\n`,
    );
    const r = run(['sync', '--config', configPath, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toBe(
      `journal ${journal} is not a trailguard journal: its first line is "date,symbol,qty,price"`,
    );
    expect(readFileSync(journal, 'utf8'), 'nothing appended').toBe(foreign);
  });

  it('a journal path that is a directory is an input error naming it, found before IG is reached', () => {
    const { dir } = paperDir();
    const configPath = join(dir, 'dir-journal.yaml');
    mkdirSync(join(dir, 'journal-dir'));
    writeFileSync(
      configPath,
      `broker: { kind: ig, restUrl: 'http://127.0.0.1:9' }\nstateDir: ./state\njournal: ./journal-dir\nmarkets:\n  ${DAX}: { pointSize: 1, decimals: 1 }\n`,
    );
    const r = run(['sync', '--config', configPath, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toBe(`journal ${join(dir, 'journal-dir')} is a directory`);
  });

  it('a stateDir that is a file is an input error naming it', () => {
    const { dir } = paperDir();
    const configPath = join(dir, 'file-state.yaml');
    writeFileSync(
      configPath,
      `broker: { kind: paper }\nstateDir: ./file-state.yaml\nmarkets:\n  ${DAX}: { pointSize: 1, decimals: 1 }\n`,
    );
    const r = run(['state', 'show', '--config', configPath, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toBe(`state directory ${configPath} is not a directory`);
  });

  it('a damaged _strategies.json: clear refuses without --force (nothing deleted) and replaces it with --force', () => {
    const { configPath, stateDir } = paperDir();
    const strategies = join(stateDir, '_strategies.json');
    writeFileSync(strategies, '{"version":1,');
    const market = join(stateDir, `${DAX}.json`);
    writeFileSync(market, JSON.stringify({ version: 1, market: DAX, positions: [] }));

    const refused = run(['state', 'clear', '--config', configPath]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('_strategies.json');
    expect(refused.stderr.replace(/\s*›\s*/g, ' '), 'the hint, unwrapped').toContain('state clear --force');
    expect(existsSync(market), 'nothing cleared').toBe(true);

    const forced = run(['state', 'clear', '--force', '--config', configPath]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(existsSync(market)).toBe(false);
    expect(JSON.parse(readFileSync(strategies, 'utf8'))).toMatchObject({ version: 1, guards: {} });
  });

  it('a full clear resets the guards but keeps how far entries read and when the state was saved', () => {
    const { configPath, stateDir } = paperDir();
    const strategies = join(stateDir, '_strategies.json');
    writeFileSync(
      strategies,
      JSON.stringify({
        version: 1,
        guards: { scalper: { realised: -50, peak: 10 } },
        entriesSeenUntil: { [DAX]: 1_700_000_000_000 },
        journalRows: 4,
        savedAt: 1_700_000_100_000,
      }),
    );
    const cleared = run(['state', 'clear', '--config', configPath]);
    expect(cleared.code, cleared.stderr).toBe(0);
    // savedAt: where the next start looks in IG's activity for an open of ours closed while nothing ran.
    expect(JSON.parse(readFileSync(strategies, 'utf8'))).toEqual({
      version: 1,
      guards: {},
      entriesSeenUntil: { [DAX]: 1_700_000_000_000 },
      savedAt: 1_700_000_100_000,
    });
  });

  it('positions with the paper broker lists its book, without IG, and says nothing is missing at IG', () => {
    const { configPath, stateDir } = paperDir();
    const snapshot = {
      dealId: 'PAPER000001',
      market: DAX,
      strategy: 'default',
      direction: 'BUY',
      size: 1,
      originalSize: 1,
      entryPrice: 100,
      entryTime: 1,
      entryReason: 'SIGNAL',
      stopReason: 'STOP',
      initialStop: 80,
      risk: 20,
      best: 110,
      trailingActive: true,
      ladderNext: 0,
    };
    writeFileSync(join(stateDir, `${DAX}.json`), JSON.stringify({ version: 1, market: DAX, positions: [snapshot] }));
    writeFileSync(
      join(stateDir, '_paper.json'),
      JSON.stringify({
        version: 2,
        positions: [
          { dealId: 'PAPER000001', market: DAX, direction: 'BUY', size: 0.5, stopLevel: 90 },
          // Its state cleared (state clear --force): the book keeps no entry level.
          { dealId: 'PAPER000002', market: DAX, direction: 'SELL', size: 1, stopLevel: 120 },
        ],
      }),
    );
    const r = run(['positions', '--config', configPath, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ broker: 'paper', missingAtBroker: [] });
    expect(result.positions).toMatchObject([
      {
        dealId: 'PAPER000001',
        size: 0.5,
        entryPrice: 100,
        stopLevel: 90,
        managed: 'managed',
        note: 'the paper book holds 0.5 of the 1 saved: closed in part while nothing ran',
      },
      { dealId: 'PAPER000002', size: 1, managed: 'unmanaged' },
    ]);
    expect(result.positions[1]).not.toHaveProperty('entryPrice');
    const text = run(['positions', '--config', configPath]);
    expect(text.stdout).toContain(`${DAX} PAPER000002 SELL 1 @ — →`);

    // sync (a cron job left on while trading on paper) has nothing to compare: skipped, exit 0.
    const sync = run(['sync', '--config', configPath, '--json']);
    expect(sync.code, sync.stderr).toBe(0);
    expect(JSON.parse(sync.stdout).skipped).toMatch(/^broker.kind is paper: there is no IG account/);
    const close = run(['close', '--all', '--yes', '--config', configPath, '--json']);
    expect(close.code, 'close has nothing to close on').toBe(2);

    // A clear of everything would drop the book's positions without an EXIT row: only with --force.
    const clear = run(['state', 'clear', '--config', configPath]);
    expect(clear.code).toBe(2);
    expect(clear.stderr.replace(/\s*›\s*/g, ' ')).toContain(
      `the paper book holds ${DAX} PAPER000001, ${DAX} PAPER000002`,
    );
    expect(existsSync(join(stateDir, '_paper.json'))).toBe(true);
    const forced = run(['state', 'clear', '--force', '--config', configPath]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(existsSync(join(stateDir, '_paper.json'))).toBe(false);
  });

  it('a damaged paper book is an input error naming it, for positions as for live', () => {
    const { configPath, stateDir } = paperDir();
    const book = join(stateDir, '_paper.json');
    writeFileSync(book, '{"version":2,"positions":[');
    const r = run(['positions', '--config', configPath, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toMatch(new RegExp(`^the paper book ${book} is damaged: `));
  });
});
