/**
 * Several backtests in one pass over the ticks (`runBacktests`, what a sweep worker runs): each
 * configuration's journal and summary are exactly what `runBacktest` gives for it alone, from a
 * text file and from a tick cache; an input error leaves nothing behind in any run's directory.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../../src/core/config/load.js';
import type { Config } from '../../../src/core/domain/config.js';
import { InvariantError, UserError } from '../../../src/core/domain/errors.js';
import {
  PASS_SLICE_TICKS,
  runBacktest,
  runBacktests,
  type BacktestOptions,
} from '../../../src/core/services/backtest.js';
import { importTicks } from '../../../src/core/services/ticks-import.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const TICKS = join(ROOT, 'fixtures/ticks/IX.D.DAX.DAILY.IP-demo.csv');
const CONFIG = join(ROOT, 'fixtures/configs/demo.yaml');
const DAX = 'IX.D.DAX.DAILY.IP';

/** The demo configuration with other trailing distances and EMA lengths (what a sweep varies). */
async function variants(): Promise<Config[]> {
  const base = await loadConfig(CONFIG);
  return [
    [10, 9],
    [6, 9],
    [20, 5],
    [14, 12],
  ].map(([distance, fast]) => {
    const config = structuredClone(base);
    const m = config.markets[DAX]!;
    m.exits.trailing!.distance = distance!;
    if (m.entry.kind === 'ema-cross') m.entry.fast = fast!;
    return config;
  });
}

function options(config: Config, outDir: string, tickFiles = [TICKS]): BacktestOptions {
  return { configPath: CONFIG, config, tickFiles, outDir, format: 'standard', strict: false };
}

/** What a run leaves behind, minus the timings. */
function outcome(outDir: string) {
  const summary = JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8')) as Record<string, unknown>;
  for (const key of ['elapsedMs', 'ticksPerSecond', 'peakRssMb', 'journalPath', 'summaryPath']) delete summary[key];
  return { journal: readFileSync(join(outDir, 'trade_history.csv'), 'utf8'), summary };
}

describe('runBacktests: several configurations, one pass over the ticks', () => {
  it.each([
    ['a text file', false],
    ['a tick cache', true],
  ])('from %s, every journal and summary equals the configuration run alone', async (_what, cache) => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-pass-'));
    let files = [TICKS];
    if (cache) {
      const out = join(dir, 'demo.tgt');
      await importTicks({ files: [TICKS], out, format: 'standard', strict: false });
      files = [out];
    }
    const configs = await variants();
    const together = await runBacktests(configs.map((c, k) => options(c, join(dir, `pass-${k}`), files)));
    expect(together).toHaveLength(configs.length);
    const journals = new Set<string>();
    for (const [k, config] of configs.entries()) {
      const alone = await runBacktest(options(config, join(dir, `alone-${k}`), files));
      expect(together[k]!.trades, `configuration ${k}`).toEqual(alone.trades);
      expect(together[k]!.ticks).toEqual(alone.ticks);
      expect(together[k]!.journalPath).toBe(join(dir, `pass-${k}`, 'trade_history.csv'));
      const mine = outcome(join(dir, `pass-${k}`));
      expect(mine).toEqual(outcome(join(dir, `alone-${k}`)));
      journals.add(mine.journal);
    }
    // The variants trade differently: a pass that mixed the runs up could not pass the above.
    expect(journals.size).toBe(configs.length);
    expect(together[0]!.trades.trades).toBeGreaterThan(0);
  });

  it('every run of a pass sees every tick once and in order, across the slices of each batch', async () => {
    // An entry that counts the ticks it is shown and trades on every Nth: a tick skipped or shown
    // twice at a slice's edge would move every later entry and exit to another tick.
    const dir = mkdtempSync(join(tmpdir(), 'tg-pass-'));
    const module = join(dir, 'count.mjs');
    writeFileSync(
      module,
      `export function createEntry({ options }) {
  let seen = 0;
  return {
    onTick(tick, candle, ctx) {
      seen += 1;
      if (seen % options.every !== 0) return undefined;
      if (ctx.positions.length > 0) return [{ kind: 'exit', dealId: ctx.positions[0].dealId }];
      return [{ kind: 'open', direction: seen % 2 === 0 ? 'BUY' : 'SELL' }];
    },
  };
}
`,
    );
    const base = await loadConfig(CONFIG);
    const configs = [101, 499, 997, 2003].map((every) => {
      const config = structuredClone(base);
      config.markets[DAX]!.entry = { kind: 'module', path: module, options: { every }, size: 1, stopPoints: 500 };
      return config;
    });
    const together = await runBacktests(configs.map((c, k) => options(c, join(dir, `pass-${k}`))));
    expect(together[0]!.ticks.ticks).toBeGreaterThan(4 * PASS_SLICE_TICKS);
    for (const [k, config] of configs.entries()) {
      await runBacktest(options(config, join(dir, `alone-${k}`)));
      expect(outcome(join(dir, `pass-${k}`)).journal, `configuration ${k}`).toBe(
        outcome(join(dir, `alone-${k}`)).journal,
      );
    }
    // The 101-tick run entered and left on ticks all through the file.
    expect(together[0]!.trades.exitsByReason.SIGNAL_EXIT).toBeGreaterThan(50);
  });

  it('ticks of two markets interleaved row by row: each market trades as it does alone, in one run and in a pass', async () => {
    // The run loop hands the engine a market name only when the market changes: here it changes on
    // every row, and a third market the configuration does not have sits between them.
    const dir = mkdtempSync(join(tmpdir(), 'tg-pass-'));
    const FTSE = 'IX.D.FTSE.DAILY.IP';
    const rows = readFileSync(TICKS, 'utf8').trimEnd().split('\n').slice(1);
    const ftseRow = (row: string) => {
      const [time, , bid, ask] = row.split(',');
      return `${time},${FTSE},${(Number(bid) - 10_000).toFixed(1)},${(Number(ask) - 10_000).toFixed(1)}`;
    };
    const both = join(dir, 'both.csv');
    const ftseOnly = join(dir, 'ftse.csv');
    writeFileSync(
      both,
      [
        'time,market,bid,ask',
        ...rows.flatMap((row, k) => [row, ...(k % 7 === 0 ? [`${row.split(',')[0]},OTHER,1,2`] : []), ftseRow(row)]),
      ].join('\n'),
    );
    writeFileSync(ftseOnly, ['time,market,bid,ask', ...rows.map(ftseRow)].join('\n'));
    const config = await loadConfig(CONFIG);
    // A strategy of its own, so that the two markets share no guard.
    config.strategies.ftse = structuredClone(config.strategies.scalper!);
    config.markets[FTSE] = { ...structuredClone(config.markets[DAX]!), market: FTSE, strategy: 'ftse' };
    const withoutDeal = (outDir: string, market: string) =>
      outcome(outDir)
        .journal.trimEnd()
        .split('\n')
        .slice(1)
        .filter((line) => line.split(',')[1] === market)
        .map((line) => line.split(',').toSpliced(2, 1).join(','));
    await runBacktest(options(config, join(dir, 'dax'), [TICKS]));
    await runBacktest(options(config, join(dir, 'ftse'), [ftseOnly]));
    const one = await runBacktest(options(config, join(dir, 'one'), [both]));
    // Two runs of the same configuration in one pass: the second takes each slice after the first.
    await runBacktests([options(config, join(dir, 'pass-0'), [both]), options(config, join(dir, 'pass-1'), [both])]);
    expect(one.ticks.ticks).toBe(2 * rows.length);
    expect(one.ticks.ignored).toBeGreaterThan(0);
    for (const [market, alone] of [
      [DAX, 'dax'],
      [FTSE, 'ftse'],
    ] as const) {
      const expected = withoutDeal(join(dir, alone), market);
      expect(expected.length, `${market} trades`).toBeGreaterThan(4);
      expect(withoutDeal(join(dir, 'one'), market), `${market} in one run`).toEqual(expected);
      expect(withoutDeal(join(dir, 'pass-0'), market), `${market}, first run of a pass`).toEqual(expected);
      expect(withoutDeal(join(dir, 'pass-1'), market), `${market}, second run of a pass`).toEqual(expected);
    }
  });

  it('--strict: a bad row stops the pass, and no run leaves a journal or summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-pass-'));
    const bad = join(dir, 'bad.csv');
    const good = readFileSync(TICKS, 'utf8').trimEnd().split('\n');
    writeFileSync(bad, [...good.slice(0, 400), `2024-03-14T23:59:59Z,${DAX},oops,1`, ...good.slice(400)].join('\n'));
    const configs = await variants();
    const error = await runBacktests(
      configs.map((c, k) => ({ ...options(c, join(dir, `run-${k}`), [bad]), strict: true })),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toContain('bad.csv');
    for (const k of configs.keys()) expect(readdirSync(join(dir, `run-${k}`))).toEqual([]);
  });

  it('refuses runs that would not read the same ticks, or would share an output directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-pass-'));
    const [a, b] = await variants();
    await expect(
      runBacktests([options(a!, join(dir, '1')), { ...options(b!, join(dir, '2')), from: Date.UTC(2024, 2, 14, 9) }]),
    ).rejects.toBeInstanceOf(InvariantError);
    await expect(runBacktests([options(a!, join(dir, 'same')), options(b!, join(dir, 'same'))])).rejects.toBeInstanceOf(
      InvariantError,
    );
    expect(existsSync(join(dir, 'same'))).toBe(false);
    expect(await runBacktests([])).toEqual([]);
  });
});
