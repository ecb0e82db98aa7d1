import type { GuardConfig } from '../../domain/config.js';

export type GuardTrip = 'STRATEGY_DRAWDOWN' | 'STRATEGY_TRAIL';

/** What the guard keeps per strategy (persisted live, SPEC §4.6). */
export interface GuardState {
  realised: number;
  peak: number;
  stopped: GuardTrip | undefined;
}

/** The least tolerance of an amount comparison, in account currency. */
export const MONEY_EPSILON = 1e-9;

/**
 * Strategy guard (SPEC §4.6, §9): the peak starts at 0; drawdown is tested before trail.
 * `tolerance` is the comparisons' tolerance in account currency: SPEC §9's 1e-9 points, as money
 * for the strategy's open positions, and the binary error of the MTM (the caller's). A peak is
 * itself an MTM of an earlier tick: a relative 1e-12 of it allows for its error.
 * Returns the trip reason when this evaluation stops the strategy.
 */
export function evaluateGuard(
  state: GuardState,
  cfg: GuardConfig,
  mtm: number,
  tolerance = MONEY_EPSILON,
): GuardTrip | undefined {
  if (state.stopped !== undefined) return undefined;
  if (mtm > state.peak) state.peak = mtm;
  const peakTolerance = tolerance + Math.abs(state.peak) * 1e-12;
  if (cfg.maxDrawdown !== undefined && mtm <= cfg.maxDrawdown + tolerance) {
    state.stopped = 'STRATEGY_DRAWDOWN';
  } else if (
    cfg.trailFraction !== undefined &&
    state.peak > cfg.minPeak + peakTolerance &&
    mtm <= state.peak * (1 - cfg.trailFraction) + peakTolerance
  ) {
    state.stopped = 'STRATEGY_TRAIL';
  }
  return state.stopped;
}
