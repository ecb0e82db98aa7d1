/**
 * Decimal-safe decisions on binary floats (SPEC §9 "Arithmetic"): comparisons carry a tolerance
 * of 1e-9 points and rounding is half away from zero with a guard of the same size, so that
 * (1.10253 − 1.10003) / 0.0001 counts as 25 points, not 24.9999….
 */

export const POINT_EPSILON = 1e-9;

/** Number of decimals needed to write `step` exactly (0.01 → 2, 0.5 → 1, 1 → 0). */
export function decimalsOf(step: number): number {
  for (let d = 0; d <= 12; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-9 * Math.max(1, scaled)) return d;
  }
  return 12;
}

/** Rounds half away from zero to `decimals`, treating values within `guard` steps of .5 as .5. */
export function roundHalfAway(value: number, decimals: number, guard = 1e-9): number {
  const factor = 10 ** decimals;
  const scaled = Math.abs(value) * factor;
  const rounded = Math.floor(scaled + 0.5 + guard) / factor;
  return value < 0 ? -rounded : rounded;
}

/** Rounding for price levels of one market: the guard is 1e-9 points expressed in steps of 10^-decimals. */
export class LevelRounder {
  private readonly factor: number;
  private readonly guard: number;
  constructor(decimals: number, pointSize: number) {
    this.factor = 10 ** decimals;
    this.guard = POINT_EPSILON * pointSize * this.factor;
  }
  round(value: number): number {
    const scaled = Math.abs(value) * this.factor;
    // Or 4 ulps of the scaled value (2^-50 of it) when that is more: at 100919.7795 on a 3-decimal
    // market a level's binary error (~3e-8 steps) is more than 1e-9 points, and a half rounded
    // down. (A literal: a bundler makes module constants variables, read boxed in a hot path.)
    const guard = Math.max(this.guard, scaled * 8.881784197001252e-16);
    const rounded = Math.floor(scaled + 0.5 + guard) / this.factor;
    return value < 0 ? -rounded : rounded;
  }
}

/** Sizes: floor to a multiple of `lotStep` (with tolerance), written cleanly. */
export function floorToStep(value: number, step: number): number {
  const n = Math.floor(value / step + 1e-9);
  return roundHalfAway(n * step, decimalsOf(step));
}

/** True when `size` is a whole number (at least 1) of `step`s, as the broker deals in lots. */
export function wholeSteps(size: number, step: number): boolean {
  const n = size / step;
  return n >= 1 - 1e-9 && Math.abs(n - Math.round(n)) <= 1e-9 * Math.max(1, n);
}

/** Cleans float noise from a size after subtraction (sizes are multiples of lotStep). */
export function cleanSize(value: number, step: number): number {
  return roundHalfAway(value, decimalsOf(step) + 2);
}

/** Rounds to 8 decimals for the journal (SPEC §6.2); -0 becomes 0. */
export function round8(value: number): number {
  const r = roundHalfAway(value, 8, 1e-7);
  return r === 0 ? 0 : r;
}

/**
 * `to − from` for two prices, as on their decimal values (SPEC §9): kept to the 14th significant
 * digit of the larger price, which drops the binary noise of the subtraction (a few units in the
 * 16th) and keeps every digit a price of up to 14 digits has. At 38153.7 − 38123.5 the raw
 * difference is 30.19999999999709; multiplied by size 10 and 1000 a point it wrote a P&L of
 * 301999.99999997. Used where a close's P&L is taken, not per tick.
 */
export function priceMove(from: number, to: number): number {
  const move = to - from;
  const scale = Math.max(Math.abs(from), Math.abs(to));
  if (!(scale > 0) || !Number.isFinite(scale)) return move;
  const decimals = 13 - Math.floor(Math.log10(scale));
  // (Prices below 0.01 too: a point of 1e-8 on a price of 0.00002 gave P&L amounts of 210000.00000001.)
  if (decimals > 300 || decimals < 0) return move;
  const r = roundHalfAway(move, decimals);
  return r === 0 ? 0 : r;
}
