/**
 * Random trading scenarios for the parity tests (fast-check): one or two markets of three kinds,
 * every exit rule, the three built-in entries, guards shared across markets, and ticks with gaps,
 * flat stretches and jumps. `materialise` writes a scenario's signals files and gives its
 * configuration (as an object), its ticks in time order and its tick file.
 *
 * Used by the backtest against the independent reference (test/core/services/reference-parity)
 * and by live against the backtest (test/services/live-random-parity).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';

import type { RefTick } from './reference/index.js';

/** Kinds of market: an index in whole points, FX pairs in pips (one with an odd value and lot step). */
export const KINDS = [
  { market: 'IX.D.DAX.DAILY.IP', pointSize: 1, decimals: 1, valuePerPoint: 1, lotStep: 0.1, base: 18_000 },
  { market: 'CS.D.EURUSD.MINI.IP', pointSize: 0.0001, decimals: 5, valuePerPoint: 10, lotStep: 0.01, base: 1.1 },
  { market: 'CS.D.USDJPY.MINI.IP', pointSize: 0.01, decimals: 3, valuePerPoint: 7.3, lotStep: 0.25, base: 150.123 },
] as const;

/** The ticks start at 20:50 UTC (21:50 in Europe/Berlin in March), so a flatAt near 21:00 falls inside. */
export const START = Date.UTC(2024, 2, 4, 20, 50);

const quarter = (min: number, max: number) => fc.integer({ min: min * 4, max: max * 4 }).map((n) => n / 4);
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const exitsArb = (minStop: number) =>
  fc.record(
    {
      trailing: fc.oneof(
        fc.constant({}),
        fc.record({ activateAt: fc.integer({ min: 0, max: 30 }), distance: fc.integer({ min: 0, max: 15 }) }),
      ),
      virtualStop: fc.record(
        {
          distance: fc.integer({ min: 1, max: 10 }),
          safetyDistance: fc.integer({ min: Math.max(minStop, 1), max: Math.max(minStop, 1) + 12 }),
          scalpMaxStop: fc.integer({ min: 2, max: 30 }),
        },
        { requiredKeys: ['distance', 'safetyDistance'] },
      ),
      atrStop: fc.record({
        period: fc.integer({ min: 2, max: 4 }),
        multiplier: quarter(0.5, 3),
        timeframe: fc.constantFrom('1m', '2m', '15m', '1h'),
        trail: fc.boolean(),
      }),
      ladder: fc.oneof(
        fc.constant({}),
        fc.record({
          rungs: fc.constantFrom(
            [
              { at: 0.5, lock: 0 },
              { at: 1, lock: 0.5, close: 0.3 },
              { at: 1.5, lock: 1, close: 0.3 },
            ],
            [
              { at: 1, lock: 0, close: 0.5 },
              { at: 2, lock: 1 },
            ],
            // A later rung that locks less than an earlier one: the earlier lock stays the tighter.
            [
              { at: 0.5, lock: 0.3 },
              { at: 1, lock: 0, close: 0.5 },
              { at: 1.5, lock: 1 },
            ],
          ),
        }),
      ),
      profitLock: fc.record({
        lockFraction: fc.integer({ min: 0, max: 10 }).map((n) => n / 10),
        minProfit: fc.integer({ min: 0, max: 15 }),
      }),
      time: fc.record(
        {
          flatAt: fc.constantFrom('20:40', '20:58', '21:05', '21:20', '22:10'),
          timezone: fc.constantFrom('UTC', 'Europe/Berlin'),
          maxHoldMinutes: fc.integer({ min: 1, max: 20 }),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  );

const marketArb = (kind: (typeof KINDS)[number]) =>
  fc.integer({ min: 0, max: 8 }).chain((minStop) =>
    fc.record({
      kind: fc.constant(kind),
      minStopDistance: fc.constant(minStop),
      stopStep: fc.integer({ min: 0, max: 3 }),
      strategy: fc.constantFrom('alpha', 'beta'),
      entry: fc.oneof(
        fc.record({
          kind: fc.constant('signals' as const),
          rows: fc.array(
            fc.record({
              at: fc.integer({ min: 0, max: 500 }),
              direction: fc.constantFrom('BUY', 'SELL'),
              lots: fc.integer({ min: 1, max: 30 }),
              stopPoints: opt(fc.integer({ min: 2, max: 40 })),
              limitPoints: opt(fc.integer({ min: 3, max: 60 })),
              strategy: opt(fc.constantFrom('alpha', 'beta')),
            }),
            { maxLength: 8 },
          ),
          stopPoints: opt(fc.integer({ min: 2, max: 40 })),
        }),
        fc.record({
          kind: fc.constant('ema-cross' as const),
          fast: fc.integer({ min: 2, max: 3 }),
          slow: fc.integer({ min: 4, max: 6 }),
          lots: fc.integer({ min: 1, max: 30 }),
          stopPoints: opt(fc.integer({ min: 2, max: 40 })),
          limitPoints: opt(fc.integer({ min: 3, max: 60 })),
        }),
        fc.record({
          kind: fc.constant('breakout' as const),
          period: fc.integer({ min: 2, max: 3 }),
          lots: fc.integer({ min: 1, max: 30 }),
          stopPoints: opt(fc.integer({ min: 2, max: 40 })),
          limitPoints: opt(fc.integer({ min: 3, max: 60 })),
        }),
      ),
      exits: exitsArb(minStop),
    }),
  );

export const scenarioArb = fc.record({
  markets: fc
    .oneof(
      fc.tuple(marketArb(KINDS[0])),
      fc.tuple(marketArb(KINDS[1])),
      fc.tuple(marketArb(KINDS[2])),
      fc.tuple(marketArb(KINDS[0]), marketArb(KINDS[1])),
      fc.tuple(marketArb(KINDS[2]), marketArb(KINDS[0])),
    )
    .map((tuple) => [...tuple]),
  guards: fc.record(
    {
      alpha: fc.record(
        {
          maxDrawdown: fc.integer({ min: 5, max: 200 }).map((n) => -n),
          trailFraction: quarter(0.25, 0.75),
          minPeak: fc.integer({ min: 0, max: 50 }),
        },
        { requiredKeys: [] },
      ),
      beta: fc.record({ maxDrawdown: fc.integer({ min: 5, max: 200 }).map((n) => -n) }),
    },
    { requiredKeys: [] },
  ),
  /**
   * Lines of the tick file swapped with the next one when their markets differ: each market stays
   * in time order, the file does not (SPEC §9 checks order per market); the backtest must replay
   * the ticks sorted by time (SPEC §6.1, docs/decisions.md 36), as the reference is given them.
   */
  swaps: fc.array(fc.nat(), { maxLength: 4 }),
  ticks: fc.array(
    fc.record({
      which: fc.integer({ min: 0, max: 1 }),
      dt: fc.oneof(
        fc.integer({ min: 50, max: 5_000 }),
        fc.integer({ min: 5_000, max: 90_000 }),
        fc.integer({ min: 90_000, max: 900_000 }),
      ),
      /** In the market's smallest price step (10^-decimals: a tenth of a point for every kind). */
      step: fc.oneof(
        { weight: 30, arbitrary: fc.integer({ min: -60, max: 60 }) },
        { weight: 10, arbitrary: fc.constant(0) }, // flat stretches: EMAs and highs that tie in decimals
        { weight: 1, arbitrary: fc.integer({ min: -600, max: 600 }) }, // a gap: several rungs, a stop filled with slippage
      ),
      spread: fc.integer({ min: 0, max: 30 }),
    }),
    { minLength: 100, maxLength: 600 },
  ),
});

export type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

/** A guard needs maxDrawdown or trailFraction (docs/decisions.md 17). */
function guardOf(guard: { maxDrawdown?: number; trailFraction?: number; minPeak?: number } | undefined) {
  return guard === undefined || (guard.maxDrawdown === undefined && guard.trailFraction === undefined)
    ? undefined
    : guard;
}

export interface Files {
  config: Record<string, unknown>;
  ticks: RefTick[];
  ticksCsv: string;
}

/** The scenario as files: the configuration object (also the reference's input), the ticks, the signals. */
export function materialise(s: Scenario, dir: string): Files {
  const markets: Record<string, unknown> = {};
  // Prices as whole numbers of the market's smallest step, written with its decimals.
  const prices = s.markets.map((m) => Math.round(m.kind.base * 10 ** m.kind.decimals));
  const ticks: RefTick[] = [];
  let time = START;
  for (const t of s.ticks) {
    const i = t.which % s.markets.length;
    const m = s.markets[i]!;
    time += t.dt;
    prices[i] = Math.max(prices[i]! + t.step, 1000);
    const bid = Number((prices[i]! / 10 ** m.kind.decimals).toFixed(m.kind.decimals));
    const ask = Number(((prices[i]! + t.spread) / 10 ** m.kind.decimals).toFixed(m.kind.decimals));
    ticks.push({ time, market: m.kind.market, bid, ask });
  }
  for (const m of s.markets) {
    const { kind } = m;
    const size = (lots: number) => Number((lots * kind.lotStep).toFixed(2));
    let entry: Record<string, unknown>;
    if (m.entry.kind === 'signals') {
      const mine = ticks.filter((t) => t.market === kind.market);
      const lines = ['time,market,direction,size,stopPoints,limitPoints,strategy'];
      for (const row of m.entry.rows) {
        // On a tick of its market (enters on it) or 1 ms after one (enters on the next).
        const at = mine.length === 0 ? START : mine[row.at % mine.length]!.time + (row.at % 2);
        lines.push(
          [
            new Date(at).toISOString(),
            kind.market,
            row.direction,
            size(row.lots),
            row.stopPoints ?? '',
            row.limitPoints ?? '',
            row.strategy ?? '',
          ].join(','),
        );
      }
      const file = join(dir, `signals-${kind.market}.csv`);
      writeFileSync(file, `${lines.join('\n')}\n`);
      entry = {
        kind: 'signals',
        file,
        size: 1,
        ...(m.entry.stopPoints === undefined ? {} : { stopPoints: m.entry.stopPoints }),
      };
    } else {
      const { lots, stopPoints, limitPoints, ...rest } = m.entry;
      entry = {
        ...rest,
        timeframe: ['1m', '5m', '15m'][m.minStopDistance % 3], // varied by a draw the scenario already has
        size: size(lots),
        ...(stopPoints === undefined ? {} : { stopPoints }),
        ...(limitPoints === undefined ? {} : { limitPoints }),
      };
    }
    markets[kind.market] = {
      pointSize: kind.pointSize,
      decimals: kind.decimals,
      valuePerPoint: kind.valuePerPoint,
      lotStep: kind.lotStep,
      minStopDistance: m.minStopDistance,
      stopStep: m.stopStep,
      strategy: m.strategy,
      entry,
      exits: m.exits,
    };
  }
  const strategies: Record<string, unknown> = {};
  for (const name of ['alpha', 'beta'] as const) {
    const guard = guardOf(s.guards[name]);
    if (guard !== undefined) strategies[name] = { guard };
  }
  const config = { broker: { kind: 'paper' }, strategies, markets };
  // Swapped in the file's order as it stands: the markets compared are those of the lines swapped.
  const file = ticks.slice();
  for (const swap of s.swaps) {
    const k = swap % Math.max(1, file.length - 1);
    if (k + 1 < file.length && file[k]!.market !== file[k + 1]!.market)
      [file[k], file[k + 1]] = [file[k + 1]!, file[k]!];
  }
  const lines = file.map((t) => `${t.time},${t.market},${t.bid},${t.ask}`);
  const ticksCsv = `time,market,bid,ask\n${lines.join('\n')}\n`;
  return { config, ticks, ticksCsv };
}

/**
 * fast-check's options for a property over scenarios: a fixed seed, so that CI runs the same
 * scenarios; TG_<NAME>_RUNS=N and TG_<NAME>_SEED=S run more of them, or other ones; shrinking a
 * failure stops after 200 s with the smallest scenario found so far, and TG_NO_SHRINK=1 reports
 * the first failing one as it is.
 */
export function scenarioRuns<T = Scenario>(name: string, runs: number, seed: number): fc.Parameters<[T]> {
  return {
    numRuns: Number(process.env[`TG_${name}_RUNS`] ?? runs),
    seed: Number(process.env[`TG_${name}_SEED`] ?? seed),
    interruptAfterTimeLimit: 200_000,
    endOnFailure: process.env.TG_NO_SHRINK === '1',
  };
}
