import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeIg } from '../support/fake-ig/index.js';
import { runBacktest } from '../../src/core/services/backtest.js';
import {
  comparableRows,
  DAX,
  fakeIgFor,
  liveConfig,
  positionsAgree,
  readTicks,
  startLive,
  unlimited,
  waitFor,
} from '../support/live-harness.js';

const TICKS = 'fixtures/ticks/IX.D.DAX.DAILY.IP-parity.csv';
const MARKET = `pointSize: 1
decimals: 1
lotStep: 0.1
minStopDistance: 6
stopStep: 1
strategy: scalper
entry: { kind: ema-cross, timeframe: 1m, fast: 3, slow: 8, size: 1, stopPoints: 12 }
exits:
  trailing: { activateAt: 20, distance: 10 }
  ladder: {}
  profitLock: { lockFraction: 0.3, minProfit: 15 }`;

let fake: FakeIg | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('live against the fake IG gives the backtest journal (parity)', () => {
  it.each([
    { rules: 'exit rules', exits: '', timeExits: 0, signals: undefined },
    {
      // The ticks are from 2024: by the local clock every position would be past due at once.
      rules: 'exit rules and a time exit, clock events every 50 ms (on the feed’s clock)',
      exits: '\n  time: { maxHoldMinutes: 4 }',
      timeExits: 3,
      signals: undefined,
    },
    {
      // Dated by the 2024 ticks: before live's start-up by the local clock, not before the session's first tick.
      rules: 'signals dated by the recorded ticks',
      exits: '',
      timeExits: 0,
      signals: ['07:00:00.000,BUY', '07:31:00,SELL', '08:05:00,BUY', '08:40:00,SELL'],
    },
  ])(
    'the same fixture ticks through live and through backtest give the same journal rows (times and deal ids aside): $rules',
    async ({ exits, timeExits, signals }) => {
      const ticks = readTicks(TICKS);
      fake = await fakeIgFor(ticks[0]!, { minStopDistance: 6 });
      const f = fake;
      const market =
        signals === undefined
          ? MARKET
          : MARKET.replace(/entry: .*/, 'entry: { kind: signals, file: ./signals.csv, size: 1, stopPoints: 12 }');
      const { configPath, journal, dir } = liveConfig(
        f,
        market + exits,
        'strategies:\n  scalper:\n    guard: { maxDrawdown: -400 }\n',
      );
      if (signals !== undefined) {
        const rows = signals.map((s) => s.split(',')).map(([t, d]) => `2024-03-14T${t}Z,${DAX},${d},1`);
        writeFileSync(join(dir, 'signals.csv'), `time,market,direction,size\n${rows.join('\n')}\n`);
      }

      const logs: string[] = [];
      const { live, stop } = await startLive(
        {
          configPath,
          log: (level, message) => logs.push(`${level} ${message}`),
          runId: 'parity',
          limiter: unlimited(),
          clockEventMs: 50,
        },
        f,
        [DAX],
      );
      for (const [i, t] of ticks.entries()) {
        f.pushTick({ epic: DAX, bid: t.bid, ask: t.ask, time: t.time });
        await waitFor(() => live.ticks() === i + 1, `tick ${i} to reach live`);
        await live.idle();
        await positionsAgree(f, live, `positions to agree after tick ${i}`);
      }
      const result = await stop();
      expect(result.ticks).toBe(ticks.length);

      const out = mkdtempSync(join(tmpdir(), 'tg-parity-'));
      await runBacktest({ configPath, tickFiles: [TICKS], outDir: out, format: 'standard', strict: true });
      const expected = comparableRows(readFileSync(join(out, 'trade_history.csv'), 'utf8'));
      const actual = comparableRows(readFileSync(journal, 'utf8'));
      expect(expected.length, 'the fixture must produce trades').toBeGreaterThan(4);
      expect(expected.filter((r) => r.includes(',TIME_EXIT')).length, 'time exits taken').toBeGreaterThanOrEqual(
        timeExits,
      );
      if (signals !== undefined)
        expect(
          expected.filter((r) => r.includes(',ENTRY,')),
          'every signal entered',
        ).toHaveLength(signals.length);
      expect(actual).toEqual(expected);
      // Every deal took its confirm from the stream's CONFIRMS: none spent one of IG's 30 reads a
      // minute on GET /confirms (which a fast trailing stop's amends would use up).
      const deals = f.requests().filter((r) => r.method !== 'GET' && r.path.startsWith('/positions'));
      expect(deals.length, 'deals were made').toBeGreaterThan(4);
      expect(f.requests().filter((r) => r.method === 'GET' && r.path.startsWith('/confirms'))).toEqual([]);
    },
    120_000,
  );

  it('live skips the stream ticks a backtest skips (crossed, non-positive, out of order): the same journal as a backtest of its recording', async () => {
    const T0 = Math.ceil(Date.now() / 1000) * 1000 + 20_000;
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 }, { minStopDistance: 2 });
    const f = fake;
    const cfg = liveConfig(
      f,
      `pointSize: 1\ndecimals: 1\nlotStep: 0.1\nminStopDistance: 2\nentry: { kind: signals, file: ./signals.csv, size: 1 }\nexits:\n  trailing: { activateAt: 10, distance: 5 }`,
    );
    writeFileSync(
      join(cfg.dir, 'signals.csv'),
      `time,market,direction,size,stopPoints\n${new Date(T0).toISOString()},${DAX},BUY,1,20\n`,
    );
    const record = join(cfg.dir, 'recorded.csv');
    const logs: string[] = [];
    const { live, stop } = await startLive(
      {
        configPath: cfg.configPath,
        record,
        log: (level, message) => logs.push(`${level} ${message}`),
        limiter: unlimited(),
        runId: 'skips',
      },
      f,
      [DAX],
    );
    const ticks: [number, number, number, 'glitch'?][] = [
      [T0, 100, 101], // BUY at 101, stop 81
      [T0 + 1000, 103, 104],
      [T0 + 2000, 125, 115, 'glitch'], // crossed: taken, it would activate trailing and move the stop to 120
      [T0 + 3000, 104, 105], // ... and this tick would have stopped the position out at 104
      [T0 + 1500, 130, 131, 'glitch'], // earlier than the last tick: taken, it would move the stop to 125
      [T0 + 4000, 105, 0, 'glitch'], // non-positive ask
      [T0 + 5000, 112, 113], // trailing activates: stop 107
      [T0 + 6000, 106, 107], // IG fills the stop at 106
    ];
    for (const [i, [time, bid, ask, glitch]] of ticks.entries()) {
      f.pushTick({ epic: DAX, bid, ask, time }, { glitch: glitch !== undefined });
      await waitFor(() => live.ticks() === i + 1, `tick ${i} to reach live`);
      await live.idle();
    }
    const result = await stop();
    expect(result.ticks).toBe(ticks.length);
    expect(result.skippedTicks).toEqual({ malformed: 0, crossed: 1, nonPositive: 1, outOfOrder: 1 });
    expect(logs.filter((l) => l.includes('tick skipped'))).toEqual([
      `warn ${DAX}: tick skipped, as a backtest skips it: crossed quote (bid 125 > ask 115)`,
      `warn ${DAX}: tick skipped, as a backtest skips it: time ${new Date(T0 + 1500).toISOString()} is earlier than the previous tick's (${new Date(T0 + 3000).toISOString()})`,
      `warn ${DAX}: tick skipped, as a backtest skips it: non-positive price (bid 105, ask 0)`,
    ]);
    const amends = f.requests().filter((r) => r.method === 'PUT');
    expect(amends, 'one stop move, from the good tick').toHaveLength(1);
    const rows = comparableRows(readFileSync(cfg.journal, 'utf8'));
    expect(rows.map((r) => r.split(',').slice(2).join(','))).toEqual([
      'BUY,ENTRY,1,101,81,,,,SIGNAL',
      'BUY,EXIT,1,106,107,5,5,0.25,TRAILING_STOP',
    ]);

    const out = mkdtempSync(join(tmpdir(), 'tg-parity-'));
    const backtest = await runBacktest({
      configPath: cfg.configPath,
      tickFiles: [record],
      outDir: out,
      format: 'standard',
      strict: false,
    });
    expect(backtest.ticks.skipped).toEqual(result.skippedTicks);
    expect(comparableRows(readFileSync(join(out, 'trade_history.csv'), 'utf8'))).toEqual(rows);
  }, 60_000);
});
