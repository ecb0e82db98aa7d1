import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeIg } from '../support/fake-ig/index.js';
import { runBacktest } from '../../src/core/services/backtest.js';
import {
  comparableRows,
  credentialsEnv,
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
  it('the same fixture ticks through live and through backtest give the same journal rows (times and deal ids aside)', async () => {
    const ticks = readTicks(TICKS);
    fake = await fakeIgFor(ticks[0]!, { minStopDistance: 6 });
    const f = fake;
    const { configPath, journal } = liveConfig(
      f,
      MARKET,
      'strategies:\n  scalper:\n    guard: { maxDrawdown: -400 }\n',
    );

    const logs: string[] = [];
    const { live, stop } = await startLive(
      {
        configPath,
        dryRun: false,
        env: credentialsEnv(f),
        clock: { now: () => Date.now() },
        log: (level, message) => logs.push(`${level} ${message}`),
        runId: 'parity',
        limiter: unlimited(),
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
    expect(actual).toEqual(expected);
  }, 120_000);
});
