/**
 * What the rules read of a position's market on every tick. The rules take this one object rather
 * than the prices and tolerances as arguments: V8 boxes every double passed to (or returned from)
 * a call it does not inline, a heap allocation per open position per tick. The engine's per-market
 * runtime implements it, with this tick's prices already set.
 */
export interface RuleMarket {
  /** This tick's prices. */
  readonly bid: number;
  readonly ask: number;
  /** pointSize: price units per point. */
  readonly ps: number;
  /** The comparison tolerance in price terms: 1e-9 points (SPEC §9 "Arithmetic"), more for very large prices. */
  readonly eps: number;
  readonly lotStep: number;
  /** Index of the ladder's last closing rung (it takes what is left), or -1. */
  readonly lastClosingRung: number;
  /** The market's ATR (SPEC §4.3); NaN before it exists or without an ATR stop. */
  readonly atrLevel: number;
  readonly maxHoldMs: number | undefined;
}

/**
 * Rule proposals are plain doubles with NaN for "no proposal": a `number | undefined` value is
 * kept boxed by V8 in optimised code (a HeapNumber each time it holds a number). The NaN is
 * written `Number.NaN` where it is produced, never through a module constant: a bundler turns a
 * module's constants into mutable variables, which V8 reads as boxed values, and one boxed input
 * boxes the whole proposal (measured: 71 MB of garbage per 10M backtest ticks, against 17 MB).
 */
/** True when a proposal (or a level read through NaN-for-none) holds a value. */
export function hasLevel(level: number): boolean {
  return level === level;
}
