// An independent reference implementation of the backtest, written from SPEC.md and docs/decisions.md
// only, without reading src/, to be used as a test oracle (slow and literal on purpose): see
// test/core/services/reference-parity.int.test.ts.
//
// Readings taken where the spec leaves room (beyond docs/decisions.md), with the SPEC section:
//  1. §4.6 Guard peak: the peak is updated with the current MTM before the trail test (peak = the
//     highest MTM seen at any evaluation, this one included). It only matters for trailFraction 0.
//  2. §4.6 Guard: amounts (MTM vs maxDrawdown, peak vs minPeak, MTM vs peak × (1 − trailFraction))
//     are compared with an absolute tolerance of 1e-9 account currency.
//  3. §9 Guard "every strategy that realised P&L on this tick": any close on this tick counts (even
//     one at exactly zero P&L); the strategies are re-evaluated in the order they first realised P&L.
//     The pre-entry evaluation runs before the entry step, so before an ema-cross SIGNAL_EXIT of the
//     same step (that close is at the valuation price, so MTM is unchanged by it anyway).
//  4. §4.6 A guard trip closes the strategy's positions in global order of entry (deal id order);
//     trailguard had closed them market by market, and took this reading (docs/decisions.md 35).
//  5. §5 signals: a market reads the rows of its own `file:` whose `market` column is that market;
//     rows of other markets in that file are ignored by it. A row without size uses the entry
//     block's `size`. A row's strategy (when set) is used for the guard's "stopped" check.
//  6. §4.2 scalpMaxStop: when set, a position without any stop distance (no stopPoints, no ATR)
//     does not get the virtual stop; when unset, every position of the market gets it (its broker
//     stop is then the safety stop and R the virtual distance).
//  7. §4.4 A custom rung without `lock` proposes no stop (its `close` still applies); `close`
//     defaults to 0. Of the fired rungs the highest lock is proposed (the tightest).
//  8. §4.4 "r ≥ at" is tested as profit ≥ at × R in price terms, within 1e-9 points.
//  9. §3 step 2.8 "a limit closer to the current favourable price than minStopDistance" is strict
//     (limit distance < minStopDistance), so with minStopDistance 0 it never blocks an amend.
// 10. §5 ema-cross: "already positioned the same way" and "opposite" look at every open position
//     of the market (there is normally one); all opposite ones are closed with SIGNAL_EXIT.
// 11. §5 ema-cross crossing tests use the same 1e-9-points tolerance (≤ within tolerance, > beyond it).
// 12. §3 step 2.4: the guard is evaluated only for strategies configured with a `guard`; the
//     positions of other strategies skip the step.
// 13. §6.2 Numbers: values are first cleaned to 15 significant digits (float noise), then rounded
//     to 8 decimals half away from zero. pnl_amount is computed from the unrounded pnl_points.
// 14. §3.1 Sizes are used as given; after a partial close the remaining size is rounded to the
//     larger of the lot step's decimals and the entered size's decimals.
// 15. §4.7 flatAt is compared on the local hour and minute (local time of day ≥ flatAt ⇔
//     hh:mm ≥ flatAt, since flatAt has minute precision).
// 16. §5 signals: rows due on one tick enter in order of their time, then file order (docs/decisions.md
//     34: trailguard's reading, taken here after the first comparison).
import { parseConfig } from './config.js';
import { parseSignals, type SignalRow } from './signals.js';
import { Simulation } from './simulation.js';

export interface RefTick {
  time: number;
  market: string;
  bid: number;
  ask: number;
} // time: epoch ms UTC
export interface RefInput {
  /** The configuration object exactly as it would be written in the YAML file (SPEC §7), BEFORE any defaults: apply SPEC §4 and §9 defaults yourself. Only `markets` and `strategies` matter for a backtest. */
  config: unknown;
  /** The ticks in replay order (already merged by time, valid, only configured markets). */
  ticks: readonly RefTick[];
  /** Reads a file named in the configuration (the `signals` entry's `file:`), returns its text. */
  readFile: (path: string) => string;
}

/** The whole trade_history.csv text (SPEC §6.2): header line, then one line per journal row, each line ending in '\n'. */
export function referenceJournal(input: RefInput): string {
  const config = parseConfig(input.config);
  const parsedFiles = new Map<string, SignalRow[]>();
  const signals = new Map<string, SignalRow[]>();
  for (const [name, market] of config.markets) {
    if (market.entry.kind !== 'signals') continue;
    const file = market.entry.file;
    let rows = parsedFiles.get(file);
    if (rows === undefined) {
      rows = parseSignals(input.readFile(file));
      parsedFiles.set(file, rows);
    }
    signals.set(
      name,
      rows.filter((row) => row.market === name),
    );
  }
  const sim = new Simulation(config, signals);
  for (const tick of input.ticks) sim.onTick(tick);
  return sim.journal();
}
