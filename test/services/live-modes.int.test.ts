import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/domain/errors.js';
import type { FakeIg } from '../support/fake-ig/index.js';
import { DAX, fakeIgFor, liveConfig, startLive, waitFor } from '../support/live-harness.js';

const T0 = Math.ceil(Date.now() / 1000) * 1000 + 20_000;
let fake: FakeIg | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function session(
  f: FakeIg,
  options: { dryRun: boolean; paper: boolean; prices?: number[]; activateAt?: number; extra?: string; record?: string },
) {
  const cfg = liveConfig(
    f,
    `pointSize: 1\ndecimals: 1\nlotStep: 0.1\nentry: { kind: signals, file: ./signals.csv, size: 1 }\nexits:\n  trailing: { activateAt: ${options.activateAt ?? 10}, distance: 5 }`,
    options.extra,
  );
  if (options.paper) {
    writeFileSync(cfg.configPath, readFileSync(cfg.configPath, 'utf8').replace('kind: ig', 'kind: paper'));
  }
  writeFileSync(
    join(cfg.dir, 'signals.csv'),
    `time,market,direction,size,stopPoints\n${new Date(T0).toISOString()},${DAX},BUY,1,20\n`,
  );
  // In a folder not made yet: --record makes it, as the journal's (`--record ticks/$(date +%F).csv`).
  const record = options.record ?? join(cfg.dir, 'ticks', 'recorded.csv');
  const logs: string[] = [];
  const { live, stop } = await startLive(
    {
      configPath: cfg.configPath,
      dryRun: options.dryRun,
      record,
      log: (level, message) => logs.push(`${level} ${message}`),
    },
    f,
    [DAX],
    () => logs.join('\n'),
  );
  const prices = options.prices ?? [100, 112, 120, 114];
  for (const [i, bid] of prices.entries()) {
    f.pushTick({ epic: DAX, bid, ask: bid + 1, time: T0 + i * 1000 });
    await waitFor(
      () => live.ticks() === i + 1,
      () => logs.join('\n'),
    );
    await live.idle();
  }
  const result = await stop();
  return { cfg, record, logs, result };
}

describe('live modes', () => {
  it('--dry-run sends nothing to IG, logs what it would send, writes no journal and no state; --record keeps every tick', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const { cfg, record, logs, result } = await session(fake, { dryRun: true, paper: false });
    expect(logs[0], 'said first, for a trader watching the log').toMatch(
      /^warn DRY RUN: no deal or amend is sent to IG/,
    );
    const deals = fake.requests().filter((r) => r.path.startsWith('/positions/otc'));
    expect(deals, 'no deal reaches IG').toEqual([]);
    expect(logs.filter((l) => l.includes('[dry-run] would send')).map((l) => l.replace(/.*would send /, ''))).toEqual([
      'open BUY 1 IX.D.DAX.DAILY.IP stop 81 limit - (SIGNAL)',
      'amend DRY000001 IX.D.DAX.DAILY.IP stop → 107 (TRAILING_STOP)',
      'amend DRY000001 IX.D.DAX.DAILY.IP stop → 115 (TRAILING_STOP)',
    ]);
    expect(result.dryRun).toBe(true);
    expect(existsSync(cfg.journal)).toBe(false);
    expect(existsSync(join(cfg.stateDir, `${DAX}.json`))).toBe(false);
    const recorded = readFileSync(record, 'utf8').trim().split('\n');
    expect(recorded[0]).toBe('time,market,bid,ask');
    expect(recorded.slice(1).map((l) => l.split(',').slice(1).join(','))).toEqual([
      `${DAX},100,101`,
      `${DAX},112,113`,
      `${DAX},120,121`,
      `${DAX},114,115`,
    ]);
  }, 60_000);

  it('a --record file that cannot be written stops live before it reaches IG (exit 2, naming the file)', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    // Under a file, where no folder can be made.
    const record = join(liveConfig(fake, 'pointSize: 1\ndecimals: 1').configPath, 'ticks.csv');
    const error = await session(fake, { dryRun: false, paper: false, record }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toContain(`cannot write the --record file ${record}`);
    expect(fake.requests(), 'no request reached IG').toEqual([]);
  }, 60_000);

  it('--record naming the journal or the configuration is refused before IG is reached (exit 2)', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const cfg = liveConfig(fake, 'pointSize: 1\ndecimals: 1');
    for (const [record, what] of [
      [cfg.journal, 'the journal'],
      [cfg.configPath, 'the configuration'],
    ] as const) {
      const error = await startLive({ configPath: cfg.configPath, record, log: () => undefined }, fake, [DAX]).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).message).toBe(`--record ${record} is ${what}`);
    }
    expect(fake.requests(), 'no request reached IG').toEqual([]);
  }, 60_000);

  it.skipIf(!existsSync('/dev/full'))(
    'a recording that fails to write (a full disk) stops the recording, never live: positions are still managed',
    async () => {
      fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
      const { cfg, logs, result } = await session(fake, { dryRun: false, paper: false, record: '/dev/full' });
      expect(logs.filter((l) => l.startsWith('error --record'))).toEqual([
        'error --record /dev/full: ENOSPC: no space left on device, write; the recording stops, live goes on',
      ]);
      expect(result.ticks).toBe(4);
      const rows = readFileSync(cfg.journal, 'utf8').trim().split('\n').slice(1);
      expect(rows.map((r) => r.split(',').slice(4, 13).join(','))).toEqual([
        'BUY,ENTRY,1,101,81,,,,SIGNAL',
        'BUY,EXIT,1,114,115,13,13,0.65,TRAILING_STOP',
      ]);
    },
    60_000,
  );

  it('paper: the simulated broker fills on live prices; the journal is written, IG gets no deal', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const { cfg, result } = await session(fake, { dryRun: false, paper: true });
    expect(fake.requests().filter((r) => r.path.startsWith('/positions/otc'))).toEqual([]);
    expect(result.broker).toBe('paper');
    const rows = readFileSync(cfg.journal, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((r) => r.split(',').slice(4, 13).join(','));
    expect(rows).toEqual(['BUY,ENTRY,1,101,81,,,,SIGNAL', 'BUY,EXIT,1,114,115,13,13,0.65,TRAILING_STOP']);
  }, 60_000);

  it('paper: a restart gives its deals new ids, after those of the journal', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    // BUY 1 at 101 (PAPER000001), closed at 114 by the trailing stop.
    const { cfg } = await session(f, { dryRun: false, paper: true });
    writeFileSync(
      join(cfg.dir, 'signals.csv'),
      `time,market,direction,size,stopPoints\n${new Date(T0 + 5000).toISOString()},${DAX},SELL,2,20\n`,
    );
    const logs: string[] = [];
    const { live, stop } = await startLive(
      { configPath: cfg.configPath, log: (level, message) => logs.push(`${level} ${message}`) },
      f,
      [DAX],
      () => logs.join('\n'),
    );
    f.pushTick({ epic: DAX, bid: 104, ask: 105, time: T0 + 5000 }); // the SELL 2 opens at 104
    await waitFor(
      () => live.ticks() === 1,
      () => logs.join('\n'),
    );
    await live.idle();
    await stop();
    const rows = readFileSync(cfg.journal, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((r) => r.split(',').slice(2, 8).join(','));
    expect(rows).toEqual([
      'PAPER000001,default,BUY,ENTRY,1,101',
      'PAPER000001,default,BUY,EXIT,1,114',
      'PAPER000002,default,SELL,ENTRY,2,104',
    ]);
    const book = JSON.parse(readFileSync(join(cfg.stateDir, '_paper.json'), 'utf8'));
    expect(book.positions.map((p: { dealId: string }) => p.dealId)).toEqual(['PAPER000002']);
  }, 60_000);

  it('a graceful stop saves the guard peak and best price reached since the last lifecycle write (SPEC §4.6: a restart does not forget them)', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    // BUY at 101; MTM 4, 8, 6 after it, and no lifecycle event (trailing never activates).
    const { cfg } = await session(fake, {
      dryRun: false,
      paper: false,
      prices: [100, 105, 109, 107],
      activateAt: 50,
      extra: 'strategies:\n  default:\n    guard: { maxDrawdown: -1000, trailFraction: 0.9 }\n',
    });
    expect(fake.positions()).toHaveLength(1);
    const saved = JSON.parse(readFileSync(join(cfg.stateDir, '_strategies.json'), 'utf8'));
    expect(saved.guards.default).toEqual({ realised: 0, peak: 8 });
    const market = JSON.parse(readFileSync(join(cfg.stateDir, `${DAX}.json`), 'utf8'));
    expect(market.positions[0]).toMatchObject({ entryPrice: 101, best: 109 });
  }, 60_000);

  it("--market leaving out a guarded strategy's other markets: a warning at start says the guard sees only this run", async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const cfg = liveConfig(
      f,
      'pointSize: 1\ndecimals: 1\nstrategy: s',
      'strategies:\n  s: { guard: { maxDrawdown: -20 } }\n',
    );
    writeFileSync(
      cfg.configPath,
      `${readFileSync(cfg.configPath, 'utf8')}  CS.D.EURUSD.MINI.IP: { pointSize: 0.0001, decimals: 5, strategy: s }\n`,
    );
    const logs: string[] = [];
    const { stop } = await startLive(
      { configPath: cfg.configPath, markets: [DAX], log: (level, message) => logs.push(`${level} ${message}`) },
      f,
      [DAX],
      () => logs.join('\n'),
    );
    await stop();
    expect(logs).toContain(
      'warn strategy s: its guard sees only the markets this run manages; its positions in CS.D.EURUSD.MINI.IP count in neither its MTM nor what a trip closes',
    );
  });
});
